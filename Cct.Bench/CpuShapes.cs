using System.Diagnostics;
using Cct.Gpu.Gemm;
using Cct.Gpu.Layers;
using Cct.Gpu.Optimizer;
using Cct.Gpu.Runtime;
using Cct.Training.Check;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace Cct.Bench;

/// <summary>
/// The "cpu-shapes" mode: launch overhead and throughput of ILGPU's CPU simulator for different
/// (threads per warp, warps per multiprocessor, multiprocessors) shapes, and the cost of barriers
/// (tiled vs simple MatMul) on tiny products. Results: docs/cpu-accelerator.md.
/// </summary>
internal static class CpuShapes
{
    private const int LaunchElements = 1024;
    private const int LaunchesPerBatch = 50;
    private const int MaxLaunches = 1000;
    private const double LaunchSecondsBudget = 2;
    private const int StreamElements = 1 << 16;
    private const int GemmSize = 128;

    /// <summary>Measures <paramref name="only"/> when given, else a list of custom and predefined shapes plus the barrier cost.</summary>
    public static int Run(IReadOnlyList<(int Warp, int Warps, int Multiprocessors)> only)
    {
        var p = Environment.ProcessorCount;
        Console.WriteLine($"{p} logical processors; launch = up to {MaxLaunches} launches (at most ~{LaunchSecondsBudget} s) of y += a·x on {LaunchElements} elements; "
            + $"adamw = AdamW.Step on {StreamElements} elements (28 B each); matmul = MatMul.RunSimple {GemmSize}^3");
        Console.WriteLine($"{"shape",-34} {"(warp,warps,MPs)",-17} {"threads",7} {"launch us",10} {"adamw ms",9} {"GB/s",6} {"matmul ms",10} {"GFLOP/s",8}");
        var shapes = only.Count > 0
            ? [.. only.Select(s => ("custom", (Func<CPUDevice>)(() => new CPUDevice(s.Warp, s.Warps, s.Multiprocessors))))]
            : DefaultShapes(p);
        foreach (var (name, shape) in shapes)
        {
            MeasureShape(name, shape);
        }

        if (only.Count > 0)
        {
            return 0;
        }

        Console.WriteLine();
        Console.WriteLine("barrier cost: MatMul n^3, tiled (16x16 groups, shared memory, 2 barriers per K tile) on ComputeDevice.TiledCpuShape vs simple on ComputeDevice.DefaultCpuShape");
        Console.WriteLine($"{"n",4} {"tiled ms",10} {"simple ms",10} {"tiled/simple",13}");
        using var tiledDevice = ComputeDevice.Create(AcceleratorKind.Cpu, ComputeDevice.TiledCpuShape);
        using var simpleDevice = ComputeDevice.Create(AcceleratorKind.Cpu, ComputeDevice.DefaultCpuShape);
        foreach (var n in new[] { 16, 32, 64 })
        {
            var tiled = GemmSeconds(tiledDevice, n, tiled: true);
            var simple = GemmSeconds(simpleDevice, n, tiled: false);
            Console.WriteLine($"{n,4} {tiled * 1e3,10:F3} {simple * 1e3,10:F3} {tiled / simple,13:F0}");
        }

        return 0;
    }

    private static (string Name, Func<CPUDevice> Shape)[] DefaultShapes(int p)
    {
        // Warp size must be a power of two >= 2. Auto-grouped kernels run groups of one warp, and each
        // multiprocessor ends every group with a barrier over its warp's OS threads, so warp size and
        // multiprocessor count are what matter; extra warps only add idle threads.
        return
        [
            ("ComputeDevice.DefaultCpuShape", () => ComputeDevice.DefaultCpuShape),
            ("custom", () => new CPUDevice(2, 1, 1)),
            ("custom", () => new CPUDevice(2, 1, p)),
            ("custom", () => new CPUDevice(2, 1, 2 * p)),
            ("custom", () => new CPUDevice(4, 1, 1)),
            ("custom", () => new CPUDevice(8, 1, 1)),
            ("custom", () => new CPUDevice(8, 1, p)),
            ("custom", () => new CPUDevice(16, 1, 1)),
            ("custom", () => new CPUDevice(32, 1, 1)),
            ("custom", () => new CPUDevice(2, 4, 1)),
            ("CPUDevice.Default", () => CPUDevice.Default),
            ("CPUDevice.Intel", () => CPUDevice.Intel),
            ("CPUDevice.AMD", () => CPUDevice.AMD),
            ("CPUDevice.Nvidia", () => CPUDevice.Nvidia),
            ("CPUDevice.LegacyAMD", () => CPUDevice.LegacyAMD),
            ("ComputeDevice.TiledCpuShape", () => ComputeDevice.TiledCpuShape),
        ];
    }

    private static void MeasureShape(string name, Func<CPUDevice> shape)
    {
        ComputeDevice device;
        try
        {
            device = ComputeDevice.Create(AcceleratorKind.Cpu, shape());
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or InvalidOperationException or NullReferenceException)
        {
            Console.WriteLine($"{name,-34} unusable: {e.GetType().Name}: {e.Message}");
            return;
        }

        using (device)
        {
            var accelerator = device.Accelerator;
            var warp = accelerator.WarpSize;
            var form = $"({warp},{accelerator.MaxNumThreadsPerGroup / warp},{accelerator.NumMultiprocessors})";
            var launch = LaunchSeconds(device);
            var adamW = AdamWSeconds(device);
            var gemm = GemmSeconds(device, GemmSize, tiled: false);
            Console.WriteLine($"{name,-34} {form,-17} {accelerator.MaxNumThreads,7} {launch * 1e6,10:F1} {adamW * 1e3,9:F2} {28.0 * StreamElements / adamW / 1e9,6:F3} {gemm * 1e3,10:F2} {2.0 * GemmSize * GemmSize * GemmSize / gemm / 1e9,8:F2}");
        }
    }

    /// <summary>Median seconds per launch of a trivial kernel over batches with one synchronise each; slow shapes get fewer batches.</summary>
    private static double LaunchSeconds(ComputeDevice device)
    {
        var kernel = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, float>(Axpy);
        using var x = device.Upload(KernelCases.Uniform(1, LaunchElements));
        using var y = device.Allocate(LaunchElements);
        y.MemSetToZero();
        kernel(LaunchElements, y.View, x.View, 1e-3f);
        device.Synchronize();
        var batches = new List<double>();
        var total = Stopwatch.StartNew();
        while (batches.Count * LaunchesPerBatch < MaxLaunches && (batches.Count < 3 || total.Elapsed.TotalSeconds < LaunchSecondsBudget))
        {
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < LaunchesPerBatch; i++)
            {
                kernel(LaunchElements, y.View, x.View, 1e-3f);
            }

            device.Synchronize();
            batches.Add(watch.Elapsed.TotalSeconds / LaunchesPerBatch);
        }

        return Timing.Median([.. batches]);
    }

    private static double AdamWSeconds(ComputeDevice device)
    {
        using var p = device.Upload(KernelCases.Uniform(2, StreamElements));
        using var m = device.Allocate(StreamElements);
        using var v = device.Allocate(StreamElements);
        using var g = device.Upload(KernelCases.Uniform(3, StreamElements));
        m.MemSetToZero();
        v.MemSetToZero();
        var adamW = AdamW.For(device);
        var settings = new AdamWSettings(1e-3f, 0.9f, 0.999f, 1e-8f, 0.05f);
        return Timing.MedianSeconds(() => adamW.Step(p.View, m.View, v.View, g.View, settings, 1), device, 3, 0.05).Median;
    }

    private static double GemmSeconds(ComputeDevice device, int n, bool tiled)
    {
        using var a = device.Upload(KernelCases.Uniform(4, n * n));
        using var b = device.Upload(KernelCases.Uniform(5, n * n));
        using var c = device.Allocate(n * n);
        var matMul = MatMul.For(device);
        var shape = new GemmShape(n, n, n, 0, 1, 0, 0);
        Action run = tiled
            ? () => matMul.RunTiled(c.View, a.View, b.View, b.View, shape)
            : () => matMul.RunSimple(c.View, a.View, b.View, b.View, shape);
        return Timing.MedianSeconds(run, device, 3, 0.05).Median;
    }

    private static void Axpy(Index1D i, ArrayView<float> y, ArrayView<float> x, float a) => y[i] += a * x[i];
}
