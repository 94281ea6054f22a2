namespace Cct.Gpu.Model;

/// <summary>
/// Lays out per-sample tensors that are live over known phase intervals so that tensors whose intervals are
/// disjoint share memory: the backward pass's activation gradients, each of which is written in one phase and last
/// read in a later (or the same) one. First-fit in birth order: each tensor goes to the lowest per-sample offset free
/// of every tensor placed before it whose interval meets its own. Offsets are in values per sample, so a batch of B
/// scales the whole layout by B and tensors that do not overlap for one sample do not overlap for B.
/// </summary>
internal sealed class LifetimePlan
{
    private readonly List<(long Size, int Born, int Dies)> requests = [];
    private long[]? offsets;

    /// <summary>Whether <see cref="Lay"/> has placed the tensors (no more can be requested).</summary>
    public bool IsLaid => offsets is not null;

    /// <summary>Values per sample the laid-out tensors span (<see cref="Lay"/> first).</summary>
    public long Length { get; private set; }

    /// <summary>The most values per sample live in any one phase: what no layout can go below.</summary>
    public long PeakLive => requests.Count == 0 ? 0 : Enumerable.Range(0, requests.Max(r => r.Dies) + 1).Max(p => requests.Where(r => r.Born <= p && p <= r.Dies).Sum(r => r.Size));

    /// <summary>Records a tensor of <paramref name="size"/> values per sample live from phase <paramref name="born"/> to <paramref name="dies"/>.</summary>
    public void Request(long size, int born, int dies)
    {
        if (offsets is not null)
        {
            throw new InvalidOperationException("the plan is already laid out");
        }

        if (born < 0 || dies < born)
        {
            throw new ArgumentOutOfRangeException(nameof(dies), $"a tensor live from phase {born} to {dies}");
        }

        requests.Add((size, born, dies));
    }

    /// <summary>Places every tensor requested (once).</summary>
    public void Lay()
    {
        if (offsets is not null)
        {
            return;
        }

        offsets = new long[requests.Count];
        var placed = new List<int>();
        // A stable sort: tensors born in the same phase keep their request order, so each phase's births sit together.
        foreach (var i in Enumerable.Range(0, requests.Count).OrderBy(i => requests[i].Born))
        {
            var r = requests[i];
            var offset = 0L;
            foreach (var (start, end) in placed.Where(j => Meets(requests[j], r)).Select(j => (offsets[j], offsets[j] + requests[j].Size)).OrderBy(span => span.Item1))
            {
                if (offset + r.Size <= start)
                {
                    break;
                }

                offset = Math.Max(offset, end);
            }

            offsets[i] = offset;
            placed.Add(i);
            Length = Math.Max(Length, offset + r.Size);
        }
    }

    /// <summary>Per-sample offset of tensor <paramref name="index"/>, after <see cref="Lay"/>.</summary>
    public long Offset(int index, long size)
    {
        if (offsets is null)
        {
            throw new InvalidOperationException("the plan is not laid out yet");
        }

        if (requests[index].Size != size)
        {
            throw new InvalidOperationException($"tensor {index} was planned at {requests[index].Size} values per sample, asked for {size}");
        }

        return offsets[index];
    }

    /// <summary>The per-sample (offset, length) ranges of the tensors born in <paramref name="phase"/>, adjacent ones merged, by offset.</summary>
    public IReadOnlyList<(long Offset, long Length)> Births(int phase)
    {
        if (offsets is null)
        {
            throw new InvalidOperationException("the plan is not laid out yet");
        }

        var ranges = new List<(long Offset, long Length)>();
        foreach (var i in Enumerable.Range(0, requests.Count).Where(i => requests[i].Born == phase).OrderBy(i => offsets[i]))
        {
            var (offset, size) = (offsets[i], requests[i].Size);
            if (ranges.Count > 0 && ranges[^1].Offset + ranges[^1].Length >= offset)
            {
                var last = ranges[^1];
                ranges[^1] = (last.Offset, Math.Max(last.Length, offset + size - last.Offset));
            }
            else
            {
                ranges.Add((offset, size));
            }
        }

        return ranges;
    }

    private static bool Meets((long Size, int Born, int Dies) a, (long Size, int Born, int Dies) b) => a.Born <= b.Dies && b.Born <= a.Dies;
}
