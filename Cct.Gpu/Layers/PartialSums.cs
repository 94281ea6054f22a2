using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// Sums over many rows per column (bias, LayerNorm and SeqPool parameter gradients) split into row
/// chunks, so a GPU gets columns x chunks threads instead of one long serial loop per column: a layer's
/// kernel writes one partial sum per (chunk, column), then <see cref="AddInto"/> adds the chunks up. With
/// one chunk (always on the CPU simulator, which has only a few threads) the layer's kernel adds into the
/// gradient directly and this pass is skipped.
/// </summary>
public sealed class PartialSums
{
    // Enough threads to fill a large GPU (132 SMs x 2048 threads is 270k; half of that hides latency well).
    private const long TargetThreads = 1 << 17;

    // Shorter chunks would spend more on the extra pass than they save.
    private const int MinRowsPerChunk = 32;

    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, int> addInto;

    private PartialSums(ComputeDevice device)
    {
        this.device = device;
        addInto = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, int>(AddIntoKernel);
    }

    public static PartialSums For(ComputeDevice device) => device.Kernels(static d => new PartialSums(d));

    /// <summary>Row chunks for a sum of <paramref name="rows"/> rows in each of <paramref name="columns"/> columns: 1 with the CPU kernels.</summary>
    public static int ChunksFor(ComputeDevice device, long rows, long columns)
    {
        if (!device.PrefersTiledKernels || rows <= 0 || columns <= 0)
        {
            return 1;
        }

        var wanted = (TargetThreads + columns - 1) / columns;
        var longest = (rows + MinRowsPerChunk - 1) / MinRowsPerChunk;
        return (int)Math.Max(1, Math.Min(wanted, longest));
    }

    /// <summary>Rows each chunk covers; the last may have fewer.</summary>
    public static int RowsPerChunk(long rows, int chunks) => (int)((rows + chunks - 1) / chunks);

    /// <summary>target (columns) += Σ over chunks of partials (chunks, columns), chunk by chunk in order.</summary>
    public void AddInto(ArrayView<float> target, ArrayView<float> partials, int chunks, int columns)
    {
        var threads = device.Threads(columns);
        if (threads > 0)
        {
            addInto(threads, threads, columns, target, partials, chunks);
        }
    }

    private static void AddIntoKernel(Index1D index, int stride, int columns, ArrayView<float> target, ArrayView<float> partials, int chunks)
    {
        for (var c = index.X; c < columns; c += stride)
        {
            var sum = 0f;
            for (var k = 0; k < chunks; k++)
            {
                sum += partials[((long)k * columns) + c];
            }

            target[c] += sum;
        }
    }
}
