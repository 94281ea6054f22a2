namespace Cct.Gpu.Gemm;

/// <summary>
/// 32x32 outputs per 8x8 group, 4x4 per thread, for attention's per-head products: with T = 196 tokens and a
/// head size of 32 or 64 the large tile wastes 41–75 % of its work on padding, this one 12–23 %
/// (<see cref="MatMul.WastedWork"/>, checked by MatMulTests).
/// </summary>
internal readonly struct SmallTile : IGemmTile
{
    public int GroupSide => 8;

    public int Fragments => 1;
}
