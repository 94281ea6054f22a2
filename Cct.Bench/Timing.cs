using System.Diagnostics;
using Cct.Gpu.Runtime;

namespace Cct.Bench;

/// <summary>Wall-clock timing of asynchronous launches: each sample ends with a synchronise.</summary>
internal static class Timing
{
    /// <summary>
    /// Median seconds per run. Repeats runs inside a sample until it lasts about
    /// <paramref name="minSampleSeconds"/>, so that launch and synchronise latency do not dominate short kernels.
    /// </summary>
    public static (double Median, int Runs) MedianSeconds(Action run, ComputeDevice device, int samples, double minSampleSeconds)
    {
        // Warm-up: first launches compile and page in buffers.
        run();
        device.Synchronize();
        var once = Measure(run, device, 1);
        var perSample = (int)Math.Clamp(Math.Ceiling(minSampleSeconds / Math.Max(once, 1e-7)), 1, 10_000);
        var times = new double[samples];
        for (var s = 0; s < samples; s++)
        {
            times[s] = Measure(run, device, perSample);
        }

        return (Median(times), (samples * perSample) + 2);
    }

    public static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static double Measure(Action run, ComputeDevice device, int repeats)
    {
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < repeats; i++)
        {
            run();
        }

        device.Synchronize();
        return watch.Elapsed.TotalSeconds / repeats;
    }
}
