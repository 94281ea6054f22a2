using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>
/// Where a <see cref="TensorCoreFlashAttention"/> thread works: its group's head (B·H along the grid's y: image Head / H),
/// the first of the group's 64 rows (queries forward, keys backward; along x), its warp and lane, and the offsets of its
/// image's qkv and (B, T, C) rows and of its head's columns.
/// </summary>
internal readonly record struct TensorCoreAttentionTile(int Head, int FirstRow, int Thread, int Warp, int Lane, long QkvRows, long OutputRows, long HeadColumn)
{
    /// <summary>The calling thread's tile, read from the grid and group indices.</summary>
    public static TensorCoreAttentionTile Current(AttentionShape s)
    {
        var head = Grid.IdxY;
        var image = head / s.Heads;
        var thread = Group.IdxX;
        return new TensorCoreAttentionTile(
            head,
            Grid.IdxX * TensorCoreFlashAttention.QueryRows,
            thread,
            thread / 32,
            thread % 32,
            (long)image * s.Tokens * 3 * s.Channels,
            (long)image * s.Tokens * s.Channels,
            (long)(head % s.Heads) * TensorCoreFlashAttention.HeadSize);
    }
}
