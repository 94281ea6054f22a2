namespace Cct.Gpu.Runtime;

/// <summary>
/// Lays out named tensors back to back, so one allocation (and one memset) covers them all; with an alignment, each
/// starts at a multiple of it and the gap before it stays unused (zero).
/// </summary>
internal sealed class TensorLayout
{
    private readonly List<TensorSlot> slots = [];
    private readonly Dictionary<string, TensorSlot> byName = new(StringComparer.Ordinal);
    private readonly int alignment;

    /// <summary>A layout whose slots start at multiples of <paramref name="alignment"/> values.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alignment"/> is not positive</exception>
    public TensorLayout(int alignment = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(alignment);
        this.alignment = alignment;
    }

    public IReadOnlyList<TensorSlot> Slots => slots;

    /// <summary>Values the buffer needs: the last slot's end, gaps included.</summary>
    public long TotalLength { get; private set; }

    /// <summary>Values of the tensors themselves, gaps excluded.</summary>
    public long ValueCount { get; private set; }

    public TensorSlot Add(string name, params int[] shape)
    {
        if (byName.ContainsKey(name))
        {
            throw new ArgumentException($"tensor '{name}' is laid out twice", nameof(name));
        }

        if (shape.Any(d => d <= 0))
        {
            throw new ArgumentException($"tensor '{name}' has a non-positive dimension {string.Join("x", shape)}", nameof(shape));
        }

        var slot = new TensorSlot(name, shape, (TotalLength + alignment - 1) / alignment * alignment);
        slots.Add(slot);
        byName.Add(name, slot);
        TotalLength = slot.Offset + slot.Length;
        ValueCount += slot.Length;
        return slot;
    }

    public TensorSlot this[string name]
        => byName.TryGetValue(name, out var slot) ? slot : throw new KeyNotFoundException($"no tensor named '{name}'");

    public bool Contains(string name) => byName.ContainsKey(name);
}
