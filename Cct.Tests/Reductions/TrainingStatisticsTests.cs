using Cct.Gpu.Reductions;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Reductions;

/// <summary>The GPU's one-group accumulation of a step's statistics against the CPU's single thread.</summary>
public sealed class TrainingStatisticsTests
{
    // 300 samples, more than the group's 256 threads, so threads take several; 7 classes.
    private const int Batch = 300;
    private const int Classes = 7;

    [Test]
    public void GroupSumsMatchTheCpuKernel()
    {
        var losses = GradCheck.RandomDoubles(21, Batch).Select(v => (float)Math.Abs(v)).ToArray();
        var (gpu, cpu) = (Run(TestDevices.GpuKernelsCpu, losses), Run(TestDevices.Cpu, losses));

        // The loss sum adds in a tree instead of in order: the default bound, a few ulps over 300 terms.
        Compare.AssertClose([gpu[0]], [cpu[0]], "training-statistics.group.loss");
        Assert.That(gpu[1..], Is.EqualTo(cpu[1..]), "correct, samples and the non-finite step are exact");
        Assert.That(cpu[1], Is.GreaterThan(0).And.LessThan(2 * Batch), "some predictions right and some wrong, so the count is tested");
        Assert.That(gpu[3], Is.EqualTo(-1f));
    }

    [Test]
    public void GroupRecordsTheFirstNonFiniteStep()
    {
        var losses = new float[Batch];
        losses[Batch - 1] = float.NaN;
        Assert.That(Run(TestDevices.GpuKernelsCpu, losses)[3], Is.EqualTo(5f));
    }

    // Two accumulations of one batch at step 5, from statistics reset on the device.
    private static float[] Run(ComputeDevice device, float[] losses)
    {
        var probabilities = GradCheck.RandomDoubles(22, Batch * Classes).ToFloats();
        var targets = Enumerable.Range(0, Batch).Select(b => (b * 3) % Classes).ToArray();
        using var statistics = device.Allocate(TrainingStatistics.Length);
        using var lossesb = device.Upload(losses);
        using var probabilitiesb = device.Upload(probabilities);
        using var targetsb = device.Upload(targets);
        TrainingStatistics.Reset(statistics.View);
        var accumulate = TrainingStatistics.For(device);
        accumulate.Accumulate(statistics.View, lossesb.View, probabilitiesb.View, targetsb.View, Batch, Classes, 5);
        accumulate.Accumulate(statistics.View, lossesb.View, probabilitiesb.View, targetsb.View, Batch, Classes, 6);
        return statistics.Read();
    }
}
