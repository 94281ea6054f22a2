namespace Cct.Gpu.Gemm;

/// <summary>Which output tile and product (x, y, z) a group of the blocked kernel computes.</summary>
internal interface ITilePlace
{
    int X { get; }

    int Y { get; }

    int Z { get; }
}
