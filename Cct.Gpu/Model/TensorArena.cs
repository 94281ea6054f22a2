using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// Hands out views of one flat buffer, as llm.c points its activation structs into one allocation. A per-sample
/// tensor takes <see cref="Batch"/> times its size; a fixed one (batch statistics, the mean loss) its size.
/// Without a buffer it only measures, so the same code sizes an allocation and then points into it. Views are
/// consecutive, unless the arena follows a <see cref="LifetimePlan"/>: then each per-sample tensor is requested for the
/// phases <see cref="During"/> names, and tensors never live at once share memory.
/// </summary>
internal sealed class TensorArena<T>
    where T : unmanaged
{
    private readonly ArrayView<T> buffer;
    private readonly LifetimePlan? plan;
    private long length;
    private int taken;
    private (int Born, int Dies)? lifetime;

    /// <summary>An arena of consecutive views into <paramref name="buffer"/> (none: it only measures).</summary>
    public TensorArena(ArrayView<T> buffer, int batch)
        : this(buffer, batch, null)
    {
    }

    private TensorArena(ArrayView<T> buffer, int batch, LifetimePlan? plan)
    {
        this.buffer = buffer;
        this.plan = plan;
        Batch = batch;
    }

    /// <summary>An arena that hands out empty views and only adds up <see cref="Length"/>.</summary>
    public static TensorArena<T> Measuring(int batch) => new(default, batch);

    /// <summary>
    /// An arena whose per-sample tensors follow <paramref name="plan"/>: before the plan is laid out it records their
    /// requests (and hands out empty views); after, the same sequence of requests gets the planned views of <paramref name="buffer"/>.
    /// </summary>
    public static TensorArena<T> Planned(LifetimePlan plan, ArrayView<T> buffer, int batch) => new(buffer, batch, plan);

    /// <summary>The batch each per-sample tensor is sized for.</summary>
    public int Batch { get; }

    /// <summary>Values handed out so far; with a laid-out plan, the values the whole plan spans.</summary>
    public long Length => plan is null ? length : plan.IsLaid ? plan.Length * Batch : 0;

    /// <summary>Tensors taken next are live from phase <paramref name="born"/> through <paramref name="dies"/> (a planned arena only).</summary>
    public TensorArena<T> During(int born, int dies)
    {
        if (plan is null)
        {
            throw new InvalidOperationException("only an arena that follows a lifetime plan takes lifetimes");
        }

        lifetime = (born, dies);
        return this;
    }

    /// <summary>A tensor (Batch, <paramref name="shape"/>...).</summary>
    public ArrayView<T> PerSample(params int[] shape) => Take(shape.Aggregate(1L, (a, b) => a * b), perSample: true);

    /// <summary>A tensor of <paramref name="length"/> values whatever the batch.</summary>
    public ArrayView<T> Fixed(long length) => Take(length, perSample: false);

    /// <summary>The first <paramref name="length"/> values of a view this arena handed out (empty while measuring).</summary>
    public static ArrayView<T> Head(ArrayView<T> view, long length) => view.IsValid ? view.SubView(0, length) : default;

    private ArrayView<T> Take(long size, bool perSample)
    {
        if (plan is null)
        {
            var values = perSample ? Batch * size : size;
            var view = buffer.IsValid ? buffer.SubView(length, values) : default;
            length += values;
            return view;
        }

        if (!perSample || lifetime is not { } live)
        {
            throw new InvalidOperationException("a planned arena takes per-sample tensors with a lifetime");
        }

        if (!plan.IsLaid)
        {
            plan.Request(size, live.Born, live.Dies);
            return default;
        }

        var offset = plan.Offset(taken++, size);
        return buffer.IsValid ? buffer.SubView(offset * Batch, size * Batch) : default;
    }
}
