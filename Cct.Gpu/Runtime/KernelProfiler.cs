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
