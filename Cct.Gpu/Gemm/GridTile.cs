using ILGPU;

namespace Cct.Gpu.Gemm;

/// <summary>The group's grid index: a product in its own launch.</summary>
internal readonly struct GridTile : ITilePlace
{
    public int X => Grid.IdxX;

    public int Y => Grid.IdxY;

    public int Z => Grid.IdxZ;
}
