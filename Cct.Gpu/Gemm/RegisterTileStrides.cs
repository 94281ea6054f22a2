namespace Cct.Gpu.Gemm;

/// <summary>
/// Strides of a <see cref="RegisterTileGemm"/> launch: element (m, k) of op(A) of product z is at
/// z·ABatch + m·ARow + k·AK, element (k, n) of op(B) at z·BBatch + k·BK + n (op(B)'s rows are contiguous), and
/// element (m, n) of C at z·CBatch + m·N + n.
/// </summary>
internal readonly record struct RegisterTileStrides(long ARow, long AK, long BK, long ABatch, long BBatch, long CBatch)
{
    /// <summary>One product of <paramref name="s"/> with op(B) stored row-major (K, N).</summary>
    public static RegisterTileStrides Of(GemmShape s) => new(s.TransposeA != 0 ? 1 : s.K, s.TransposeA != 0 ? s.M : 1, s.N, 0, 0, 0);
}
