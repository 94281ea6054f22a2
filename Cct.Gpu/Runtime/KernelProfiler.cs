using System.Collections.Concurrent;
using System.Diagnostics;

namespace Cct.Gpu.Runtime;

/// <summary>
/// Wall time per layer operation (e.g. "LayerNorm.Backward"), for the per-kernel shares of a training step.
/// Each outermost <see cref="ComputeDevice.Time"/> scope synchronises the device on entry and exit, so
/// its time is the device time of the kernels it launched plus one launch latency; nested scopes
/// (Linear calling MatMul) are charged to the outer one. Profiling serialises the stream, so throughput
/// is measured with the profiler off.
/// </summary>
internal sealed class KernelProfiler
{
    private readonly Dictionary<string, (double Milliseconds, int Calls)> totals = [];
    private readonly Stopwatch stopwatch = new();
    private int depth;

    /// <summary>Time and call count per operation name since creation or <see cref="Clear"/>.</summary>
    public IReadOnlyDictionary<string, (double Milliseconds, int Calls)> Totals => totals;

    public void Clear() => totals.Clear();

    internal void Enter(ComputeDevice device)
    {
        if (depth++ == 0)
        {
            device.Synchronize();
            stopwatch.Restart();
        }
    }

    internal void Exit(ComputeDevice device, string name)
    {
        if (--depth == 0)
        {
            device.Synchronize();
            var elapsed = stopwatch.Elapsed.TotalMilliseconds;
            totals[name] = totals.TryGetValue(name, out var t) ? (t.Milliseconds + elapsed, t.Calls + 1) : (elapsed, 1);
        }
    }
}

/// <summary>One profiled operation; a no-op when the device has no profiler.</summary>
internal readonly struct ProfileScope : IDisposable
{
    private readonly ComputeDevice device;
    private readonly KernelProfiler? profiler;
    private readonly string name;

    internal ProfileScope(ComputeDevice device, string name)
    {
        this.device = device;
        this.name = name;
        profiler = device.Profiler;
        profiler?.Enter(device);
    }

    public void Dispose() => profiler?.Exit(device, name);
}

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
