using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>
/// Where a <see cref="FlashAttention"/> thread works: its group's head (B·H along the grid's y) and first row of the
/// tile (32 along x: queries, or keys in the key-major backward), its thread (Row, Part) within the group, and the
/// offsets of its image's qkv rows, its head's columns and its image's (B, T, C) rows.
/// </summary>
internal readonly record struct FlashTile(int Head, int FirstRow, int Thread, int Row, int Part, long QkvRows, long HeadColumn, long OutputRows)
{
    /// <summary>The calling thread's tile, read from the grid and group indices.</summary>
    public static FlashTile Current(AttentionShape s)
    {
        var head = Grid.IdxY;
        var b = head / s.Heads;
        var thread = Group.IdxX;
        return new FlashTile(head, Grid.IdxX * FlashAttention.TileRows, thread, thread / 4, thread % 4, (long)b * s.Tokens * 3 * s.Channels, (long)(head % s.Heads) * s.HeadSize, (long)b * s.Tokens * s.Channels);
    }
}
