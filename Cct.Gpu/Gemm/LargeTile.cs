namespace Cct.Gpu.Gemm;

/// <summary>128x128 outputs per 16x16 group, 8x8 per thread: 64 FMAs per 4 16-byte shared loads.</summary>
internal readonly struct LargeTile : IGemmTile
{
    public int GroupSide => 16;

    public int Fragments => 2;
}
