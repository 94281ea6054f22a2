namespace Cct.Gpu.Gemm;

/// <summary>
/// One launch of <see cref="TensorCoreGemm"/>: c (M, N) [=|+=] a · bᵀ over K, with a and b staged as the kernel's layouts
/// say. Addresses are device addresses in bytes (the kernels' inline PTX takes them by value); C is split <c>z</c>'s
/// (M, N) slice at C + z·M·N·4 when the grid's z splits K into chunks of <see cref="Chunk"/>.
/// </summary>
internal readonly record struct TensorCoreProblem(long C, long A, long B, long Bias, int M, int N, int K, int Chunk);
