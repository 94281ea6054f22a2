namespace Cct.Gpu.Gemm;

/// <summary>
/// Layout of a batched, strided product (GPU kernel only): item z of Count = batches x Heads reads A from
/// (z / Heads)·ABatch + (z % Heads)·AHead with row stride Lda, and likewise B and C. Attention uses it to
/// multiply the heads of qkv (B, T, 3C) in place. <see cref="Packed"/> is one dense product.
/// </summary>
internal readonly record struct GemmLayout(int Count, int Heads, int Lda, int Ldb, int Ldc, long ABatch, long AHead, long BBatch, long BHead, long CBatch, long CHead)
{
    public static GemmLayout Packed(GemmShape s) => new(1, 1, s.TransposeA != 0 ? s.M : s.K, s.TransposeB != 0 ? s.K : s.N, s.N, 0, 0, 0, 0, 0, 0);
}
