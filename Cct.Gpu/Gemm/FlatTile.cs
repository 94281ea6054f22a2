using ILGPU;

namespace Cct.Gpu.Gemm;

/// <summary>A product whose groups are the flat grid's First .. First + BlocksX·BlocksY·(products x parts), x fastest.</summary>
internal readonly struct FlatTile(int first, int blocksX, int blocksY) : ITilePlace
{
    public int X => (Grid.IdxX - first) % blocksX;

    public int Y => (Grid.IdxX - first) / blocksX % blocksY;

    public int Z => (Grid.IdxX - first) / (blocksX * blocksY);
}
