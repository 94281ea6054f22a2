using Cct.Gpu.Layers;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

public sealed class BatchNorm2dTests
{
    private static IEnumerable<string> Cases => Fixture.CasesOf("batchnorm2d");

    [TestCaseSource(nameof(Cases))]
    public void TrainingForwardAndBackwardMatchPyTorch(string @case) => CheckTraining(@case, TestDevices.Cpu, "batchnorm2d");

    /// <summary>The GPU's one-group-per-channel statistics and backward, on the simulator that runs the GPU kernels.</summary>
    [TestCaseSource(nameof(Cases))]
    public void GroupKernelsMatchPyTorch(string @case) => CheckTraining(@case, TestDevices.GpuKernelsCpu, "batchnorm2d.groups");

    private static void CheckTraining(string @case, Cct.Gpu.Runtime.ComputeDevice device, string label)
    {
        var fixture = Fixture.Load("batchnorm2d");
        var shape = ShapeOf(fixture, @case);
        var channels = shape.Channels;
        var count = fixture.Floats(@case, "x").Length;
        using var x = device.Upload(fixture.Floats(@case, "x"));
        using var w = device.Upload(fixture.Floats(@case, "weight"));
        using var b = device.Upload(fixture.Floats(@case, "bias"));
        using var runningMean = device.Upload(fixture.Floats(@case, "running_mean"));
        using var runningVar = device.Upload(fixture.Floats(@case, "running_var"));
        using var dy = device.Upload(fixture.Floats(@case, "dout"));
        using var y = device.Allocate(count);
        using var mean = device.Allocate(channels);
        using var rstd = device.Allocate(channels);
        using var dx = device.Allocate(count);
        using var dw = device.Allocate(channels);
        using var db = device.Allocate(channels);
        dx.MemSetToZero();
        dw.MemSetToZero();
        db.MemSetToZero();
        var bn = BatchNorm2d.For(device);
        bn.ForwardTraining(y.View, new NormStatistics(mean.View, rstd.View), runningMean.View, runningVar.View, x.View, new WeightAndBias(w.View, b.View), shape,
            fixture.Floats(@case, "momentum")[0], fixture.Floats(@case, "eps")[0]);
        bn.Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dy.View, x.View, new NormStatistics(mean.View, rstd.View), w.View, shape);

        var p = $"{label}.{@case}.";
        Compare.AssertClose(y.Read(), fixture.Floats(@case, "out"), p + "out");
        Compare.AssertClose(mean.Read(), fixture.Floats(@case, "mean"), p + "mean");
        Compare.AssertClose(rstd.Read(), fixture.Floats(@case, "rstd"), p + "rstd");
        Compare.AssertClose(runningMean.Read(), fixture.Floats(@case, "updated_running_mean"), p + "running_mean");
        Compare.AssertClose(runningVar.Read(), fixture.Floats(@case, "updated_running_var"), p + "running_var");
        Compare.AssertClose(dx.Read(), fixture.Floats(@case, "dx"), p + "dx");
        Compare.AssertClose(dw.Read(), fixture.Floats(@case, "dweight"), p + "dweight");
        Compare.AssertClose(db.Read(), fixture.Floats(@case, "dbias"), p + "dbias");
    }

    [TestCaseSource(nameof(Cases))]
    public void EvalForwardMatchesPyTorch(string @case)
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("batchnorm2d");
        var shape = ShapeOf(fixture, @case);
        using var x = device.Upload(fixture.Floats(@case, "x"));
        using var w = device.Upload(fixture.Floats(@case, "weight"));
        using var b = device.Upload(fixture.Floats(@case, "bias"));
        using var runningMean = device.Upload(fixture.Floats(@case, "running_mean"));
        using var runningVar = device.Upload(fixture.Floats(@case, "running_var"));
        using var y = device.Allocate(x.Length);
        BatchNorm2d.For(device).ForwardEval(y.View, x.View, new WeightAndBias(w.View, b.View), runningMean.View, runningVar.View, shape, fixture.Floats(@case, "eps")[0]);

        Compare.AssertClose(y.Read(), fixture.Floats(@case, "out_eval"), $"batchnorm2d.{@case}.out_eval");
        Compare.AssertClose(runningMean.Read(), fixture.Floats(@case, "running_mean"), $"batchnorm2d.{@case}.eval_keeps_running_mean", Tolerance.Exact);
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        var shape = new BatchNormShape(2, 3, 3);
        const float eps = 1e-5f;
        var count = shape.Channels * shape.PerChannel;
        var x = GradCheck.RandomDoubles(1, count, 2);
        var w = GradCheck.RandomDoubles(2, shape.Channels);
        var b = GradCheck.RandomDoubles(3, shape.Channels);
        var dy = GradCheck.RandomDoubles(4, count);
        var device = TestDevices.Cpu;
        using var xb = device.Upload(x.ToFloats());
        using var wb = device.Upload(w.ToFloats());
        using var bb = device.Upload(b.ToFloats());
        using var dyb = device.Upload(dy.ToFloats());
        using var runningMean = device.Allocate(shape.Channels);
        using var runningVar = device.Allocate(shape.Channels);
        using var y = device.Allocate(count);
        using var mean = device.Allocate(shape.Channels);
        using var rstd = device.Allocate(shape.Channels);
        using var dx = device.Allocate(count);
        using var dw = device.Allocate(shape.Channels);
        using var db = device.Allocate(shape.Channels);
        runningMean.MemSetToZero();
        runningVar.MemSetToZero();
        dx.MemSetToZero();
        dw.MemSetToZero();
        db.MemSetToZero();
        var bn = BatchNorm2d.For(device);
        bn.ForwardTraining(y.View, new NormStatistics(mean.View, rstd.View), runningMean.View, runningVar.View, xb.View, new WeightAndBias(wb.View, bb.View), shape, epsilon: eps);
        bn.Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dyb.View, xb.View, new NormStatistics(mean.View, rstd.View), wb.View, shape);

        double Loss(double[] xs, double[] ws, double[] bs) => GradCheck.Dot(HostForward(xs, ws, bs, shape, eps), dy);
        Compare.AssertClose(y.Read().ToDoubles(), HostForward(x, w, b, shape, eps), "batchnorm2d.host.out");
        Compare.AssertClose(dx.Read().ToDoubles(), GradCheck.Numerical(v => Loss(v, w, b), x), "batchnorm2d.fd.dx", Compare.HostReference);
        Compare.AssertClose(dw.Read().ToDoubles(), GradCheck.Numerical(v => Loss(x, v, b), w), "batchnorm2d.fd.dweight", Compare.HostReference);
        Compare.AssertClose(db.Read().ToDoubles(), GradCheck.Numerical(v => Loss(x, w, v), b), "batchnorm2d.fd.dbias", Compare.HostReference);
    }

    [Test]
    public void BackwardAccumulatesIntoGradients()
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("batchnorm2d");
        const string c = "odd";
        var shape = ShapeOf(fixture, c);
        using var x = device.Upload(fixture.Floats(c, "x"));
        using var w = device.Upload(fixture.Floats(c, "weight"));
        using var mean = device.Upload(fixture.Floats(c, "mean"));
        using var rstd = device.Upload(fixture.Floats(c, "rstd"));
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var dx = device.Allocate(x.Length);
        using var dw = device.Allocate(shape.Channels);
        using var db = device.Allocate(shape.Channels);
        dx.MemSetToZero();
        dw.MemSetToZero();
        db.MemSetToZero();
        for (var i = 0; i < 2; i++)
        {
            BatchNorm2d.For(device).Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dy.View, x.View, new NormStatistics(mean.View, rstd.View), w.View, shape);
        }

        Compare.AssertClose(dx.Read(), fixture.Floats(c, "dx").Select(v => 2 * v).ToArray(), "batchnorm2d.accumulate.dx");
        Compare.AssertClose(dw.Read(), fixture.Floats(c, "dweight").Select(v => 2 * v).ToArray(), "batchnorm2d.accumulate.dweight");
        Compare.AssertClose(db.Read(), fixture.Floats(c, "dbias").Select(v => 2 * v).ToArray(), "batchnorm2d.accumulate.dbias");
    }

    /// <summary>
    /// The GPU statistics and bias gradient sum in one fixed order (strided per thread, then a tree), so they equal
    /// that order replayed on the host bit for bit, in every run; ILGPU's atomic group reduction gave no such order.
    /// 363 values per channel, more than a group's 256 threads, with a 0.5 offset so a different order would round differently.
    /// </summary>
    [Test]
    public void GroupSumsFollowAFixedOrder()
    {
        var device = TestDevices.GpuKernelsCpu;
        var shape = new BatchNormShape(3, 2, 121);
        var count = shape.Batch * shape.Channels * shape.Spatial;
        var x = GradCheck.RandomDoubles(31, count).Select(v => (float)v + 0.5f).ToArray();
        var dy = GradCheck.RandomDoubles(32, count).Select(v => (float)v + 0.5f).ToArray();
        var bn = BatchNorm2d.For(device);
        (float[] Mean, float[] Dbias) Run()
        {
            using var input = device.Upload(x);
            using var doutput = device.Upload(dy);
            using var weight = device.Upload([1f, 1f]);
            using var bias = device.Upload([0f, 0f]);
            using var runningMean = device.Upload([0f, 0f]);
            using var runningVar = device.Upload([1f, 1f]);
            using var y = device.Allocate(count);
            using var mean = device.Allocate(shape.Channels);
            using var rstd = device.Allocate(shape.Channels);
            using var dx = device.Upload(new float[count]);
            using var dw = device.Upload(new float[shape.Channels]);
            using var db = device.Upload(new float[shape.Channels]);
            bn.ForwardTraining(y.View, new NormStatistics(mean.View, rstd.View), runningMean.View, runningVar.View, input.View, new WeightAndBias(weight.View, bias.View), shape);
            bn.Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), doutput.View, input.View, new NormStatistics(mean.View, rstd.View), weight.View, shape);
            return (mean.Read(), db.Read());
        }

        var (firstMean, firstDbias) = Run();
        var (secondMean, secondDbias) = Run();
        for (var c = 0; c < shape.Channels; c++)
        {
            Assert.That(BitConverter.SingleToInt32Bits(firstMean[c]), Is.EqualTo(BitConverter.SingleToInt32Bits(FixedOrderSum(x, shape, c, bn.GroupSize) / shape.PerChannel)), $"mean[{c}]");
            Assert.That(BitConverter.SingleToInt32Bits(firstDbias[c]), Is.EqualTo(BitConverter.SingleToInt32Bits(FixedOrderSum(dy, shape, c, bn.GroupSize))), $"dbias[{c}]");
        }

        Assert.That(secondMean, Is.EqualTo(firstMean), "a second run gives the same mean bits");
        Assert.That(secondDbias, Is.EqualTo(firstDbias), "a second run gives the same dbias bits");
    }

    // The group kernels' order: thread t sums values t, t + G, ... of channel c; then thread i adds i + half while the active count halves.
    private static float FixedOrderSum(float[] values, BatchNormShape s, int c, int groupSize)
    {
        var partial = new float[groupSize];
        for (var t = 0; t < groupSize; t++)
        {
            for (var e = t; e < s.PerChannel; e += groupSize)
            {
                partial[t] += values[s.Index(e / s.Spatial, c, e % s.Spatial)];
            }
        }

        for (var active = groupSize; active > 1;)
        {
            var half = (active + 1) / 2;
            for (var i = 0; i < active - half; i++)
            {
                partial[i] += partial[i + half];
            }

            active = half;
        }

        return partial[0];
    }

    [Test]
    public void TrainingRejectsOneValuePerChannel()
    {
        var device = TestDevices.Cpu;
        using var buffer = device.Allocate(4);
        var v = buffer.View;
        Assert.Throws<ArgumentException>(() => BatchNorm2d.For(device).ForwardTraining(v, new NormStatistics(v, v), v, v, v, new WeightAndBias(v, v), new BatchNormShape(1, 4, 1)));
    }

    private static BatchNormShape ShapeOf(Fixture fixture, string @case)
    {
        var s = fixture.Shape(@case, "x");
        return new BatchNormShape(s[0], s[1], s[2] * s[3]);
    }

    // Training-mode batch norm in double precision, with the biased variance.
    private static double[] HostForward(double[] x, double[] w, double[] b, BatchNormShape s, double eps)
    {
        var y = new double[x.Length];
        var n = s.PerChannel;
        for (var c = 0; c < s.Channels; c++)
        {
            var indices = Enumerable.Range(0, s.Batch).SelectMany(bi => Enumerable.Range(0, s.Spatial).Select(i => (int)s.Index(bi, c, i))).ToArray();
            var mean = indices.Sum(i => x[i]) / n;
            var variance = indices.Sum(i => (x[i] - mean) * (x[i] - mean)) / n;
            foreach (var i in indices)
            {
                y[i] = ((x[i] - mean) / Math.Sqrt(variance + eps) * w[c]) + b[c];
            }
        }

        return y;
    }
}
