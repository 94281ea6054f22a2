using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// Hands out consecutive views of one flat buffer, as llm.c points its activation structs into one allocation. A
/// per-sample tensor takes <see cref="Batch"/> times its size; a fixed one (batch statistics, the mean loss) its size.
/// Without a buffer it only measures, so the same code sizes an allocation and then points into it.
/// </summary>
internal sealed class TensorArena<T>(ArrayView<T> buffer, int batch)
    where T : unmanaged
{
    /// <summary>An arena that hands out empty views and only adds up <see cref="Length"/>.</summary>
    public static TensorArena<T> Measuring(int batch) => new(default, batch);

    /// <summary>The batch each per-sample tensor is sized for.</summary>
    public int Batch => batch;

    /// <summary>Values handed out so far.</summary>
    public long Length { get; private set; }

    /// <summary>A tensor (Batch, <paramref name="shape"/>...).</summary>
    public ArrayView<T> PerSample(params int[] shape) => Take(batch * shape.Aggregate(1L, (a, b) => a * b));

    /// <summary>A tensor of <paramref name="length"/> values whatever the batch.</summary>
    public ArrayView<T> Fixed(long length) => Take(length);

    /// <summary>Everything handed out since <paramref name="start"/> (a <see cref="Length"/> read earlier), as one view.</summary>
    public ArrayView<T> Since(long start) => buffer.IsValid ? buffer.SubView(start, Length - start) : default;

    /// <summary>The first <paramref name="length"/> values of a view this arena handed out (empty while measuring).</summary>
    public static ArrayView<T> Head(ArrayView<T> view, long length) => view.IsValid ? view.SubView(0, length) : default;

    private ArrayView<T> Take(long length)
    {
        var view = buffer.IsValid ? buffer.SubView(Length, length) : default;
        Length += length;
        return view;
    }
}
