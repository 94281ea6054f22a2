namespace Cct.Gpu.Layers;

/// <summary>
/// Where the heads sit in a (B, T, ·) tensor for <see cref="HeadMajorAttention"/>: rows of <paramref name="RowStride"/>
/// floats, head h's hs columns at <paramref name="Offset"/> + h·hs; <paramref name="Transposed"/> = 1 lays the
/// head-major copy out as (B·H, hs, T) instead of (B·H, T, hs).
/// </summary>
internal readonly record struct HeadSlice(int RowStride, int Offset, int Transposed);
