using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Reductions;

/// <summary>
/// Sums over many rows per column (bias, LayerNorm and SeqPool parameter gradients) split into row
/// chunks, so a GPU gets columns x chunks threads instead of one long serial loop per column: a layer's
/// kernel writes one partial sum per (chunk, column) into <see cref="Partials"/>, then <see cref="AddInto(int, PartialSum[])"/>
/// adds the chunks up, every sum of the call in one launch. Inside <see cref="Defer"/> (a model's backward pass)
/// the sums wait and all of them run in one launch when it ends: a cct-7/3x1 step had 54 of these launches.
/// With one chunk (always on the CPU simulator, which has only a few threads) the layer's kernel adds into the
/// gradient directly and this pass is skipped.
/// </summary>
internal sealed class PartialSums
{
    /// <summary>Ints per sum in the table the kernel reads: target offset, columns, partials offset, chunks.</summary>
    private const int Fields = 4;

    // Enough threads to fill a large GPU (132 SMs x 2048 threads is 270k; half of that hides latency well).
    private const long TargetThreads = 1 << 17;

    // Shorter chunks would spend more on the extra pass than they save.
    private const int MinRowsPerChunk = 32;

    private const int MaxGroupSize = 256;

    private readonly ComputeDevice device;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>> addInto;
    private readonly List<(MemoryBuffer Buffer, int[] Sum)> pending = [];
    private MemoryBuffer1D<float, Stride1D.Dense>? partials;
    private MemoryBuffer1D<int, Stride1D.Dense>? table;
    private int[] uploaded = [];
    private long used;
    private int deferrals;

    private PartialSums(ComputeDevice device)
    {
        this.device = device;
        addInto = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>>(AddIntoKernel);
    }

    public static PartialSums For(ComputeDevice device) => device.Kernels(static d => new PartialSums(d));

    /// <summary>Row chunks for a sum of <paramref name="rows"/> rows in each of <paramref name="columns"/> columns: 1 with the CPU kernels.</summary>
    public static int ChunksFor(ComputeDevice device, long rows, long columns)
    {
        if (device.Profile.Kernels != KernelFamily.Grouped || rows <= 0 || columns <= 0)
        {
            return 1;
        }

        var wanted = (TargetThreads + columns - 1) / columns;
        var longest = (rows + MinRowsPerChunk - 1) / MinRowsPerChunk;
        return (int)Math.Max(1, Math.Min(wanted, longest));
    }

    /// <summary>Rows each chunk covers; the last may have fewer.</summary>
    public static int RowsPerChunk(long rows, int chunks) => (int)((rows + chunks - 1) / chunks);

    /// <summary>
    /// A device buffer of <paramref name="length"/> floats for partial sums, kept until the <see cref="AddInto(int, PartialSum[])"/>
    /// that reads it has run. Growing it first waits for the device and copies the pending partials over; it
    /// grows only in a model's first step.
    /// </summary>
    public ArrayView<float> Partials(long length)
    {
        if (partials is null || partials.Length < used + length)
        {
            device.Synchronize();
            var grown = device.Allocate(Math.Max(2 * (used + length), 1 << 16));
            if (partials is not null && used > 0)
            {
                grown.View.SubView(0, used).CopyFrom(partials.View.SubView(0, used));
            }

            partials?.Dispose();
            partials = grown;
            device.Reallocated();
        }

        var view = partials.View.SubView(used, length);
        used += length;
        return view;
    }

    /// <summary>
    /// target (columns) += Σ over chunks of partials (chunks, columns), chunk by chunk in order, for every sum;
    /// the partials come from <see cref="Partials"/>. One launch per target buffer, or none yet inside <see cref="Defer"/>.
    /// </summary>
    public void AddInto(int chunks, params PartialSum[] sums)
    {
        foreach (var sum in sums)
        {
            if (sum.Columns <= 0)
            {
                continue;
            }

            var (targetBuffer, targetIndex) = Locate(sum.Target);
            var (sourceBuffer, sourceIndex) = Locate(sum.Partials);
            if (partials is null || sourceBuffer != Locate(partials.View).Buffer || sum.Partials.Length < (long)chunks * sum.Columns || sum.Target.Length < sum.Columns)
            {
                throw new ArgumentException("partials must be (chunks, columns) from PartialSums.Partials, the target (columns)", nameof(sums));
            }

            pending.Add((targetBuffer, [checked((int)targetIndex), sum.Columns, checked((int)sourceIndex), chunks]));
        }

        if (deferrals == 0)
        {
            Flush();
        }
    }

    /// <summary>target (columns) += Σ over chunks of partials (chunks, columns) from any buffer, staged through <see cref="Partials"/> by a device copy.</summary>
    public void AddInto(ArrayView<float> target, ArrayView<float> partials, int chunks, int columns)
    {
        var length = (long)chunks * columns;
        var staged = Partials(length);
        staged.CopyFrom(partials.SubView(0, length));
        AddInto(chunks, new PartialSum(target, staged, columns));
    }

    /// <summary>Holds every <see cref="AddInto(int, PartialSum[])"/> until the returned scope ends, then runs them, one launch per target buffer.</summary>
    public Deferral Defer()
    {
        deferrals++;
        return new Deferral(this);
    }

    // The view's device buffer and its offset there, so the kernel can reach every target of a buffer from one view.
    private static (MemoryBuffer Buffer, long Index) Locate(ArrayView<float> view)
    {
        var contiguous = (IContiguousArrayView)view;
        return (contiguous.Buffer, contiguous.Index);
    }

    private void EndDeferral()
    {
        if (--deferrals == 0)
        {
            Flush();
        }
    }

    private void Flush()
    {
        try
        {
            FlushPending();
        }
        finally
        {
            // Even when a launch throws (a CUDA graph capture the driver refused, GraphReplay): the work is run again
            // plainly, and must not add these sums, whose partials were never written, a second time.
            pending.Clear();
            used = 0;
        }
    }

    private void FlushPending()
    {
        if (pending.Count == 0)
        {
            return;
        }

        // Grouped by target buffer in order of first use; the table is the same every step, so it is uploaded once.
        var groups = pending.GroupBy(p => p.Buffer).ToList();
        var ints = groups.SelectMany(g => g.SelectMany(p => p.Sum)).ToArray();
        if (!ints.AsSpan().SequenceEqual(uploaded))
        {
            if (table is null || table.Length < ints.Length)
            {
                // Queued sums may still read the old table.
                device.Synchronize();
                table?.Dispose();
                table = device.Accelerator.Allocate1D<int>(Math.Max(ints.Length, 256));
            }

            table.View.SubView(0, ints.Length).CopyFromCPU(ints);
            uploaded = ints;
            device.Reallocated();
        }

        var first = 0;
        foreach (var group in groups)
        {
            var count = group.Count();
            var buffer = group.Key;
            var targets = new ArrayView<float>(buffer, 0, buffer.Length);
            // A thread per column of a sum: the widest (fc1's bias, 512) takes two passes.
            addInto(new KernelConfig(count, GroupSize(device)), targets, partials!.View, table!.View.SubView((long)first * Fields, (long)count * Fields));
            first += count;
        }
    }

    /// <summary>Threads of a group that reduces with <see cref="GroupSum"/>: 256, or fewer where the device allows fewer.</summary>
    internal static int GroupSize(ComputeDevice device) => Math.Min(MaxGroupSize, device.Accelerator.MaxNumThreadsPerGroup);

    /// <summary>
    /// The sum of every thread's <paramref name="value"/> in the group, returned to all of them, in a fixed order:
    /// a tree through shared memory where thread i adds thread i + half's value while the active count halves.
    /// ILGPU's group AllReduce adds with shared-memory atomics on GPUs, in whatever order threads arrive, so
    /// two GPU runs of the seed preset's BatchNorm differed; this costs log2(256) = 8 barriers per sum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float GroupSum(float value)
    {
        var shared = SharedMemory.Allocate<float>(MaxGroupSize);
        var i = Group.IdxX;
        shared[i] = value;
        Group.Barrier();
        for (var active = Group.DimX; active > 1;)
        {
            var half = (active + 1) / 2;
            if (i < active - half)
            {
                shared[i] += shared[i + half];
            }

            Group.Barrier();
            active = half;
        }

        var total = shared[0];

        // Every thread reads the total before the slots can be reused.
        Group.Barrier();
        return total;
    }

    /// <summary>Ends a <see cref="Defer"/> scope: runs the sums it held.</summary>
    public readonly struct Deferral : IDisposable
    {
        private readonly PartialSums owner;

        internal Deferral(PartialSums owner) => this.owner = owner;

        public void Dispose() => owner.EndDeferral();
    }

    // Group g adds sum g of the table; its threads take the sum's columns in turn, each adding its chunks in order.
    private static void AddIntoKernel(ArrayView<float> targets, ArrayView<float> partials, ArrayView<int> table)
    {
        var at = (long)Grid.IdxX * Fields;
        if (at + Fields > table.Length)
        {
            return;
        }

        var (target, columns, source, chunks) = (table[at], table[at + 1], table[at + 2], table[at + 3]);
        for (var c = Group.IdxX; c < columns; c += Group.DimX)
        {
            var sum = 0f;
            for (var k = 0; k < chunks; k++)
            {
                sum += partials[source + ((long)k * columns) + c];
            }

            targets[target + c] += sum;
        }
    }
}
