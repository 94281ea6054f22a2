namespace Cct.Gpu.Gemm;

/// <summary>
/// Dimensions and flags of one matrix product C (M, N) = op(A) (M, K) · op(B) (K, N) [+ bias (N)] [+ C].
/// op(A) reads A as (K, M) when TransposeA is set; op(B) reads B as (N, K) when TransposeB is set.
/// </summary>
internal readonly record struct GemmShape(int M, int N, int K, int TransposeA, int TransposeB, int Accumulate, int HasBias);
