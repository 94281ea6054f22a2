using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Model;

/// <summary>
/// The device-operation counter behind `cct-bench ops`: every launch of every kernel set is counted, MatMul's too
/// (its launchers are wrapped when the set loads), and counting without running (CountOnly) counts the same.
/// </summary>
public sealed class DeviceOperationsTests
{
    private static readonly CctConfig Config = new()
    {
        ImageSize = 8,
        ConvLayers = 1,
        Dim = 8,
        Layers = 2,
        Heads = 2,
        MlpRatio = 2,
        AttentionDropout = 0.1f,
        StochasticDepth = 0.1f,
    };

    [Test]
    public void LinearForwardOnTheGpuKernelsIsOneMatMulLaunch()
    {
        var device = TestDevices.GpuKernelsCpu;
        using var x = device.Upload(GradCheck.RandomDoubles(71, 6 * 4).ToFloats());
        using var w = device.Upload(GradCheck.RandomDoubles(72, 3 * 4).ToFloats());
        using var b = device.Upload(new float[3]);
        using var y = device.Allocate(6 * 3);
        var linear = Linear.For(device);
        var before = device.Operations.LaunchesByKernel.GetValueOrDefault("MatMul.denseNT");
        var launches = device.Operations.Launches;
        linear.Forward(y.View, x.View, new WeightAndBias(w.View, b.View), true, 6, 4, 3);
        Assert.That(device.Operations.Launches - launches, Is.EqualTo(1));
        Assert.That(device.Operations.LaunchesByKernel["MatMul.denseNT"] - before, Is.EqualTo(1), "y = x · wᵀ is the dense NT kernel");
    }

    [Test]
    public void CountOnlyCountsWithoutRunning()
    {
        var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        try
        {
            using var x = device.Upload([1f, -2f, 3f]);
            using var y = device.Upload([7f, 7f, 7f]);
            device.Operations.CountOnly = true;
            Relu.For(device).Forward(y.View, x.View, 3);
            device.Clear(x.View);
            Assert.That((device.Operations.Launches, device.Operations.Memsets), Is.EqualTo((1L, 1L)));
            Assert.That((x.Read(), y.Read()), Is.EqualTo((new[] { 1f, -2f, 3f }, new[] { 7f, 7f, 7f })), "nothing ran");
        }
        finally
        {
            device.Dispose();
        }
    }

    /// <summary>
    /// A step's count is the same counted or run (what lets the bench count a full-size step on the simulator), and at
    /// batch 3 or 5: 48 and 80 token rows, both long enough for chunked parameter sums (PartialSums: over 32 rows), whose
    /// one deferred launch is the only part of the count that depends on the batch.
    /// </summary>
    [Test]
    public void StepCountIsTheSameCountedOrRunAndAtAnyBatch()
    {
        var device = TestDevices.GpuKernelsCpu;
        var run = StepOperations(device, batch: 3, countOnly: false);
        Assert.That(StepOperations(device, batch: 3, countOnly: true), Is.EqualTo(run));
        Assert.That(StepOperations(device, batch: 5, countOnly: true), Is.EqualTo(run));
        var plan = ModelGradients.Plan(CctArchitecture.Of(Config));
        var phases = ModelGradients.Phases(CctArchitecture.Of(Config));
        var clears = Enumerable.Range(0, phases.Count).Sum(p => plan.Births(p).Count);
        Assert.That(run.Memsets, Is.EqualTo(1 + clears), "the parameter gradients, then what each backward phase writes first");
        Assert.That(clears, Is.InRange(phases.Count, 2 * phases.Count), "one or two ranges a phase");
    }

    private static (long Launches, long Memsets) StepOperations(ComputeDevice device, int batch, bool countOnly)
    {
        using var model = new CctModel(device, Config, batch);
        model.Initialize(seed: 1);
        using var images = device.Upload(GradCheck.RandomDoubles(73, batch * Config.ImageSize * Config.ImageSize).ToFloats());
        using var labels = device.Upload(Enumerable.Range(0, batch).Select(b => b % 10).ToArray());
        var operations = device.Operations;
        var (launches, memsets) = (operations.Launches, operations.Memsets);
        operations.CountOnly = countOnly;
        try
        {
            model.TrainStep(images.View, labels.View, batch, 0.1f, new AdamWSettings(1e-3f, 0.9f, 0.999f, 1e-8f, 0.05f));
        }
        finally
        {
            operations.CountOnly = false;
        }

        return (operations.Launches - launches, operations.Memsets - memsets);
    }
}
