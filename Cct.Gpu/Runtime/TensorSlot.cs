namespace Cct.Gpu.Runtime;

/// <summary>One named tensor inside a flat buffer: its shape and where it starts.</summary>
internal sealed record TensorSlot(string Name, int[] Shape, long Offset)
{
    public long Length { get; } = Shape.Aggregate(1L, (a, b) => a * b);

    public string ShapeText => "(" + string.Join(", ", Shape) + ")";
}
