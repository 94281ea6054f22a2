namespace Cct.Gpu.Runtime;

/// <summary>Lays out named tensors back to back, so one allocation (and one memset) covers them all.</summary>
internal sealed class TensorLayout
{
    private readonly List<TensorSlot> slots = [];
    private readonly Dictionary<string, TensorSlot> byName = new(StringComparer.Ordinal);

    public IReadOnlyList<TensorSlot> Slots => slots;

    public long TotalLength { get; private set; }

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

        var slot = new TensorSlot(name, shape, TotalLength);
        slots.Add(slot);
        byName.Add(name, slot);
        TotalLength += slot.Length;
        return slot;
    }

    public TensorSlot this[string name]
        => byName.TryGetValue(name, out var slot) ? slot : throw new KeyNotFoundException($"no tensor named '{name}'");

    public bool Contains(string name) => byName.ContainsKey(name);
}
