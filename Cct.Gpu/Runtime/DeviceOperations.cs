using System.Collections.Concurrent;

namespace Cct.Gpu.Runtime;

/// <summary>
/// Counts the device operations a <see cref="ComputeDevice"/> issues: kernel launches (per launcher, named
/// "KernelSet.field") and memsets. Each launch costs a few microseconds of launch latency on a GPU, so the
/// count per training step bounds the step time of a small model from below. Counting is thread-safe.
/// </summary>
internal sealed class DeviceOperations
{
    private readonly ConcurrentDictionary<string, LaunchCounter> counters = new(StringComparer.Ordinal);
    private long launches;
    private long memsets;

    /// <summary>Kernel launches so far.</summary>
    public long Launches => Interlocked.Read(ref launches);

    /// <summary>Memsets so far (<see cref="ComputeDevice.Clear"/>).</summary>
    public long Memsets => Interlocked.Read(ref memsets);

    /// <summary>A snapshot of the launches so far per launcher, "KernelSet.field".</summary>
    public IReadOnlyDictionary<string, long> LaunchesByKernel => counters.ToDictionary(kv => kv.Key, kv => kv.Value.Count, StringComparer.Ordinal);

    /// <summary>
    /// When set, launches and memsets are counted but not issued: the ops bench counts a full-size step on the
    /// CPU simulator, where running it would take hours. Nothing in a step reads device results on the host,
    /// so the count is the same; the device's buffers then hold garbage.
    /// </summary>
    public bool CountOnly { get; set; }

    /// <summary>The counter of one launcher, made when <see cref="ComputeDevice.Kernels"/> wraps it.</summary>
    internal LaunchCounter CounterFor(string kernel) => counters.GetOrAdd(kernel, _ => new LaunchCounter(this));

    internal bool CountMemset()
    {
        Interlocked.Increment(ref memsets);
        return !CountOnly;
    }

    /// <summary>Launches of one launcher; the wrapped launcher calls <see cref="Launch"/> first.</summary>
    public sealed class LaunchCounter
    {
        private readonly DeviceOperations owner;
        private long count;

        internal LaunchCounter(DeviceOperations owner) => this.owner = owner;

        /// <summary>Launches so far.</summary>
        public long Count => Interlocked.Read(ref count);

        /// <summary>Records one launch and says whether to issue it (<see cref="CountOnly"/>).</summary>
        public bool Launch()
        {
            Interlocked.Increment(ref count);
            Interlocked.Increment(ref owner.launches);
            return !owner.CountOnly;
        }
    }
}
