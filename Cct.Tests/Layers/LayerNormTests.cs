using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

public sealed class LayerNormTests
{
    private static IEnumerable<string> Cases => Fixture.CasesOf("layernorm");

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchPyTorch(string c) => Check(c, warps: false);

    /// <summary>The GPU's one-warp-per-row kernels (and chunked parameter sums), on the simulator that runs the GPU kernels (warps of 16 lanes).</summary>
    [TestCaseSource(nameof(Cases))]
    public void WarpKernelsMatchPyTorch(string c) => Check(c, warps: true);

    private static void Check(string c, bool warps)
    {
        var device = warps ? TestDevices.GpuKernelsCpu : TestDevices.Cpu;
        var fixture = Fixture.Load("layernorm");
        var (rows, channels) = (fixture.Shape(c, "x")[0], fixture.Shape(c, "x")[1]);
        using var x = device.Upload(fixture.Floats(c, "x"));
        using var w = device.Upload(fixture.Floats(c, "weight"));
        using var b = device.Upload(fixture.Floats(c, "bias"));
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var y = device.Allocate(rows * channels);
        using var mean = device.Allocate(rows);
        using var rstd = device.Allocate(rows);
        using var dx = device.Allocate(rows * channels);
        using var dw = device.Allocate(channels);
        using var db = device.Allocate(channels);
        dx.MemSetToZero();
        dw.MemSetToZero();
        db.MemSetToZero();
        var layerNorm = LayerNorm.For(device);
        layerNorm.Forward(y.View, new NormStatistics(mean.View, rstd.View), x.View, new WeightAndBias(w.View, b.View), rows, channels);
        layerNorm.Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dy.View, x.View, new NormStatistics(mean.View, rstd.View), w.View, rows, channels);

        var label = warps ? "layernorm.warps" : "layernorm";
        Compare.AssertClose(y.Read(), fixture.Floats(c, "out"), $"{label}.{c}.out");
        Compare.AssertClose(mean.Read(), fixture.Floats(c, "mean"), $"{label}.{c}.mean");
        Compare.AssertClose(rstd.Read(), fixture.Floats(c, "rstd"), $"{label}.{c}.rstd");
        Compare.AssertClose(dx.Read(), fixture.Floats(c, "dx"), $"{label}.{c}.dx");
        Compare.AssertClose(dw.Read(), fixture.Floats(c, "dweight"), $"{label}.{c}.dweight");
        Compare.AssertClose(db.Read(), fixture.Floats(c, "dbias"), $"{label}.{c}.dbias");
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        const int rows = 3, channels = 5;
        var x = GradCheck.RandomDoubles(1, rows * channels, 2.0);
        var w = GradCheck.RandomDoubles(2, channels).Select(v => 1 + (0.5 * v)).ToArray();
        var b = GradCheck.RandomDoubles(3, channels);
        var dy = GradCheck.RandomDoubles(4, rows * channels);
        var device = TestDevices.Cpu;
        var layerNorm = LayerNorm.For(device);
        using var xb = device.Upload(x.ToFloats());
        using var wb = device.Upload(w.ToFloats());
        using var bb = device.Upload(b.ToFloats());
        using var dyb = device.Upload(dy.ToFloats());
        using var y = device.Allocate(rows * channels);
        using var mean = device.Allocate(rows);
        using var rstd = device.Allocate(rows);
        using var dx = device.Allocate(rows * channels);
        using var dw = device.Allocate(channels);
        using var db = device.Allocate(channels);
        dx.MemSetToZero();
        dw.MemSetToZero();
        db.MemSetToZero();
        layerNorm.Forward(y.View, new NormStatistics(mean.View, rstd.View), xb.View, new WeightAndBias(wb.View, bb.View), rows, channels);
        layerNorm.Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dyb.View, xb.View, new NormStatistics(mean.View, rstd.View), wb.View, rows, channels);

        double Loss(double[] xs, double[] ws, double[] bs) => GradCheck.Dot(HostForward(xs, ws, bs, rows, channels), dy);
        Compare.AssertClose(y.Read().ToDoubles(), HostForward(x, w, b, rows, channels), "layernorm.host.out", Compare.HostReference);
        Compare.AssertClose(dx.Read().ToDoubles(), GradCheck.Numerical(v => Loss(v, w, b), x), "layernorm.fd.dx", Compare.HostReference);
        Compare.AssertClose(dw.Read().ToDoubles(), GradCheck.Numerical(v => Loss(x, v, b), w), "layernorm.fd.dweight", Compare.HostReference);
        Compare.AssertClose(db.Read().ToDoubles(), GradCheck.Numerical(v => Loss(x, w, v), b), "layernorm.fd.dbias", Compare.HostReference);
    }

    [Test]
    public void BackwardAccumulatesIntoGradients()
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("layernorm");
        const string c = "odd";
        var (rows, channels) = (fixture.Shape(c, "x")[0], fixture.Shape(c, "x")[1]);
        using var x = device.Upload(fixture.Floats(c, "x"));
        using var w = device.Upload(fixture.Floats(c, "weight"));
        using var mean = device.Upload(fixture.Floats(c, "mean"));
        using var rstd = device.Upload(fixture.Floats(c, "rstd"));
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var dx = device.Allocate(rows * channels);
        using var dw = device.Allocate(channels);
        using var db = device.Allocate(channels);
        dx.MemSetToZero();
        dw.MemSetToZero();
        db.MemSetToZero();
        for (var i = 0; i < 2; i++)
        {
            LayerNorm.For(device).Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dy.View, x.View, new NormStatistics(mean.View, rstd.View), w.View, rows, channels);
        }

        Compare.AssertClose(dx.Read(), fixture.Floats(c, "dx").Select(v => 2 * v).ToArray(), "layernorm.accumulate.dx");
        Compare.AssertClose(dw.Read(), fixture.Floats(c, "dweight").Select(v => 2 * v).ToArray(), "layernorm.accumulate.dweight");
        Compare.AssertClose(db.Read(), fixture.Floats(c, "dbias").Select(v => 2 * v).ToArray(), "layernorm.accumulate.dbias");
    }

    private static double[] HostForward(double[] x, double[] w, double[] b, int rows, int channels)
    {
        var y = new double[rows * channels];
        for (var r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * channels, channels);
            var mean = 0.0;
            foreach (var v in row)
            {
                mean += v / channels;
            }

            var variance = 0.0;
            foreach (var v in row)
            {
                variance += (v - mean) * (v - mean) / channels;
            }

            var rstd = 1 / Math.Sqrt(variance + LayerNorm.Epsilon);
            for (var c = 0; c < channels; c++)
            {
                y[(r * channels) + c] = ((row[c] - mean) * rstd * w[c]) + b[c];
            }
        }

        return y;
    }

    /// <summary>
    /// LayerNorm with the residual taken in (the GPU's one row kernel each way) against Residual then LayerNorm, forward and
    /// backward, with drop-path 0.4 over 3 samples of 5 rows: the same arithmetic, so equal bits. 37 channels are more than a
    /// simulator warp's 16 lanes and not a multiple of them. Gradients start non-zero.
    /// </summary>
    [TestCase(false)]
    [TestCase(true)]
    public void ResidualFusedMatchesResidualThenLayerNorm(bool gpuKernels)
    {
        const int batch = 3, tokens = 5, channels = 37, rows = batch * tokens, count = rows * channels;
        var device = gpuKernels ? TestDevices.GpuKernelsCpu : TestDevices.Cpu;
        var mask = DropPathMask.For(tokens * channels, 0.4f, new RngKey(3, 4, 6));
        using var input = device.Upload(GradCheck.RandomDoubles(61, count).ToFloats());
        using var branch = device.Upload(GradCheck.RandomDoubles(62, count).ToFloats());
        using var weight = device.Upload(GradCheck.RandomDoubles(63, channels).ToFloats());
        using var bias = device.Upload(GradCheck.RandomDoubles(64, channels).ToFloats());
        using var doutput = device.Upload(GradCheck.RandomDoubles(65, count).ToFloats());
        float[][] Run(bool fused)
        {
            using var output = device.Allocate(count);
            using var mean = device.Allocate(rows);
            using var rstd = device.Allocate(rows);
            using var sum = device.Allocate(count);
            using var dinput = device.Upload(GradCheck.RandomDoubles(66, count).ToFloats());
            using var dbranch = device.Upload(GradCheck.RandomDoubles(67, count).ToFloats());
            using var dweight = device.Upload(GradCheck.RandomDoubles(68, channels).ToFloats());
            using var dbias = device.Upload(GradCheck.RandomDoubles(69, channels).ToFloats());
            using var dsum = device.Upload(new float[count]);
            var layerNorm = LayerNorm.For(device);
            if (fused)
            {
                layerNorm.ForwardResidual(output.View, new NormStatistics(mean.View, rstd.View), sum.View, input.View, branch.View, new WeightAndBias(weight.View, bias.View), rows, channels, mask);
                layerNorm.BackwardResidual(dinput.View, dbranch.View, new WeightAndBiasGradients(dweight.View, dbias.View), doutput.View, sum.View, new NormStatistics(mean.View, rstd.View), weight.View, rows, channels, mask);
            }
            else
            {
                var residual = Residual.For(device);
                residual.Forward(sum.View, input.View, branch.View, batch, tokens * channels, mask.Probability, mask.Key);
                layerNorm.Forward(output.View, new NormStatistics(mean.View, rstd.View), sum.View, new WeightAndBias(weight.View, bias.View), rows, channels);
                layerNorm.Backward(dsum.View, new WeightAndBiasGradients(dweight.View, dbias.View), doutput.View, sum.View, new NormStatistics(mean.View, rstd.View), weight.View, rows, channels);
                residual.Backward(dinput.View, dbranch.View, dsum.View, batch, tokens * channels, mask.Probability, mask.Key);
            }

            return [output.Read(), mean.Read(), rstd.Read(), sum.Read(), dinput.Read(), dbranch.Read(), dweight.Read(), dbias.Read()];
        }

        var (fusedResult, separate) = (Run(fused: true), Run(fused: false));
        Assert.That(fusedResult, Is.EqualTo(separate));
        var kept = Enumerable.Range(0, batch).Select(b => mask.Key.Uniform(b) >= mask.Probability).ToArray();
        Assert.That(kept, Does.Contain(true).And.Contain(false), "the mask keeps some samples and drops others");
    }

    /// <summary>
    /// The GPU backward's one launch (the row warps, then the parameter sums in the groups after them) against the CPU
    /// kernels: the parameter gradients are the same sums in the same order, so equal bits, with one row chunk and with
    /// several (rows not a multiple of them), and more sum items than one group holds. Gradients start non-zero.
    /// </summary>
    [TestCase(37, 6, 1)]
    [TestCase(37, 6, 3)]
    [TestCase(300, 70, 5)]
    public void GpuBackwardLaunchSumsParametersAsTheCpuKernels(int rows, int channels, int chunks)
    {
        var (x, weight, dy) = (GradCheck.RandomDoubles(71, rows * channels).ToFloats(), GradCheck.RandomDoubles(72, channels).ToFloats(), GradCheck.RandomDoubles(73, rows * channels).ToFloats());
        float[] means, rstds;
        {
            // The statistics from the CPU kernels, so both backwards read the same mean and rstd.
            var cpu = TestDevices.Cpu;
            using var input = cpu.Upload(x);
            using var w = cpu.Upload(weight);
            using var b = cpu.Upload(new float[channels]);
            using var output = cpu.Allocate(rows * channels);
            using var mean = cpu.Allocate(rows);
            using var rstd = cpu.Allocate(rows);
            LayerNorm.For(cpu).Forward(output.View, new NormStatistics(mean.View, rstd.View), input.View, new WeightAndBias(w.View, b.View), rows, channels);
            (means, rstds) = (mean.Read(), rstd.Read());
        }

        float[][] Run(ComputeDevice device)
        {
            using var input = device.Upload(x);
            using var w = device.Upload(weight);
            using var doutput = device.Upload(dy);
            using var mean = device.Upload(means);
            using var rstd = device.Upload(rstds);
            using var dinput = device.Upload(GradCheck.RandomDoubles(74, rows * channels).ToFloats());
            using var dweight = device.Upload(GradCheck.RandomDoubles(75, channels).ToFloats());
            using var dbias = device.Upload(GradCheck.RandomDoubles(76, channels).ToFloats());
            LayerNorm.For(device).Backward(dinput.View, new WeightAndBiasGradients(dweight.View, dbias.View), doutput.View, input.View, new NormStatistics(mean.View, rstd.View), w.View, rows, channels, chunks);
            return [dinput.Read(), dweight.Read(), dbias.Read()];
        }

        var (gpu, kernels) = (Run(TestDevices.GpuKernelsCpu), Run(TestDevices.Cpu));
        Assert.That(gpu[1], Is.EqualTo(kernels[1]), "dweight");
        Assert.That(gpu[2], Is.EqualTo(kernels[2]), "dbias");
        Compare.AssertClose(gpu[0], kernels[0], "layernorm.gpu_launch.dinput");
    }
}
