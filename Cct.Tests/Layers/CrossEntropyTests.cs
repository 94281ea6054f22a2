using Cct.Gpu.Layers;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

public sealed class CrossEntropyTests
{
    private static IEnumerable<string> Cases => Fixture.CasesOf("crossentropy");

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchPyTorch(string c)
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("crossentropy");
        var (batch, classes) = (fixture.Shape(c, "logits")[0], fixture.Shape(c, "logits")[1]);
        var smoothing = fixture.Floats(c, "smoothing")[0];
        using var logits = device.Upload(fixture.Floats(c, "logits"));
        using var targets = device.Upload(fixture.Ints(c, "targets"));
        using var loss = device.Allocate(1);
        using var losses = device.Allocate(batch);
        using var probabilities = device.Allocate(batch * classes);
        using var dlogits = device.Allocate(batch * classes);
        dlogits.MemSetToZero();
        var crossEntropy = CrossEntropy.For(device);
        crossEntropy.Forward(loss.View, losses.View, probabilities.View, logits.View, targets.View, batch, classes, smoothing);
        crossEntropy.Backward(dlogits.View, probabilities.View, targets.View, batch, classes, smoothing);

        Compare.AssertClose(loss.Read(), fixture.Floats(c, "loss"), $"crossentropy.{c}.loss");
        Compare.AssertClose(losses.Read(), fixture.Floats(c, "losses"), $"crossentropy.{c}.losses");
        Compare.AssertClose(probabilities.Read(), fixture.Floats(c, "probabilities"), $"crossentropy.{c}.probabilities");
        Compare.AssertClose(dlogits.Read(), fixture.Floats(c, "dlogits"), $"crossentropy.{c}.dlogits");
    }

    /// <summary>
    /// The GPU's one-group forward + mean + backward against the CPU kernels, 300 samples (more than the group's
    /// 256 threads) of 7 classes, gradients starting non-zero. Per-sample values run the same code, so they must be
    /// equal; the mean adds in a tree instead of in order, so it gets the default bound (a few ulps over 300 terms).
    /// </summary>
    [Test]
    public void GroupForwardBackwardMatchesCpuKernels()
    {
        const int batch = 300, classes = 7;
        const float smoothing = 0.1f;
        var logits = GradCheck.RandomDoubles(11, batch * classes, 3.0).ToFloats();
        var targets = Enumerable.Range(0, batch).Select(b => (b * 5) % classes).ToArray();
        var initial = GradCheck.RandomDoubles(12, batch * classes).ToFloats();
        float[][] Run(Cct.Gpu.Runtime.ComputeDevice device)
        {
            using var logitsb = device.Upload(logits);
            using var targetsb = device.Upload(targets);
            using var loss = device.Allocate(1);
            using var losses = device.Allocate(batch);
            using var probabilities = device.Allocate(batch * classes);
            using var dlogits = device.Upload(initial);
            CrossEntropy.For(device).ForwardBackward(loss.View, losses.View, probabilities.View, dlogits.View, logitsb.View, targetsb.View, batch, classes, smoothing);
            return [loss.Read(), losses.Read(), probabilities.Read(), dlogits.Read()];
        }

        var gpu = Run(TestDevices.GpuKernelsCpu);
        var cpu = Run(TestDevices.Cpu);
        Compare.AssertClose(gpu[0], cpu[0], "crossentropy.group.loss");
        Assert.That(gpu[1], Is.EqualTo(cpu[1]), "losses");
        Assert.That(gpu[2], Is.EqualTo(cpu[2]), "probabilities");
        Assert.That(gpu[3], Is.EqualTo(cpu[3]), "dlogits");
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        const int batch = 3, classes = 4;
        const float smoothing = 0.1f;
        var logits = GradCheck.RandomDoubles(1, batch * classes, 3.0);
        int[] targets = [2, 0, 3];
        var device = TestDevices.Cpu;
        using var logitsb = device.Upload(logits.ToFloats());
        using var targetsb = device.Upload(targets);
        using var loss = device.Allocate(1);
        using var losses = device.Allocate(batch);
        using var probabilities = device.Allocate(batch * classes);
        using var dlogits = device.Allocate(batch * classes);
        dlogits.MemSetToZero();
        var crossEntropy = CrossEntropy.For(device);
        crossEntropy.Forward(loss.View, losses.View, probabilities.View, logitsb.View, targetsb.View, batch, classes, smoothing);
        crossEntropy.Backward(dlogits.View, probabilities.View, targetsb.View, batch, classes, smoothing);

        double Loss(double[] l) => HostLosses(l, targets, classes, smoothing).Average();
        Compare.AssertClose(losses.Read().ToDoubles(), HostLosses(logits, targets, classes, smoothing), "crossentropy.host.losses", Compare.HostReference);
        Compare.AssertClose(loss.Read().ToDoubles(), [Loss(logits)], "crossentropy.host.loss", Compare.HostReference);
        Compare.AssertClose(dlogits.Read().ToDoubles(), GradCheck.Numerical(Loss, logits), "crossentropy.fd.dlogits", Compare.HostReference);
    }

    [Test]
    public void BackwardAccumulatesIntoGradients()
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("crossentropy");
        const string c = "k10_smooth";
        var (batch, classes) = (fixture.Shape(c, "logits")[0], fixture.Shape(c, "logits")[1]);
        var smoothing = fixture.Floats(c, "smoothing")[0];
        using var probabilities = device.Upload(fixture.Floats(c, "probabilities"));
        using var targets = device.Upload(fixture.Ints(c, "targets"));
        using var dlogits = device.Allocate(batch * classes);
        dlogits.MemSetToZero();
        for (var i = 0; i < 2; i++)
        {
            CrossEntropy.For(device).Backward(dlogits.View, probabilities.View, targets.View, batch, classes, smoothing);
        }

        Compare.AssertClose(dlogits.Read(), fixture.Floats(c, "dlogits").Select(v => 2 * v).ToArray(), "crossentropy.accumulate.dlogits");
    }

    private static double[] HostLosses(double[] logits, int[] targets, int classes, double smoothing)
    {
        var losses = new double[targets.Length];
        for (var b = 0; b < targets.Length; b++)
        {
            var row = logits.AsSpan(b * classes, classes);
            var max = double.NegativeInfinity;
            foreach (var l in row)
            {
                max = Math.Max(max, l);
            }

            var sum = 0.0;
            foreach (var l in row)
            {
                sum += Math.Exp(l - max);
            }

            var logSum = max + Math.Log(sum);
            for (var k = 0; k < classes; k++)
            {
                var q = (smoothing / classes) + (k == targets[b] ? 1 - smoothing : 0);
                losses[b] -= q * (row[k] - logSum);
            }
        }

        return losses;
    }
}
