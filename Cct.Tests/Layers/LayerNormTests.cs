using Cct.Gpu.Layers;
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
        layerNorm.Forward(y.View, mean.View, rstd.View, x.View, w.View, b.View, rows, channels);
        layerNorm.Backward(dx.View, dw.View, db.View, dy.View, x.View, mean.View, rstd.View, w.View, rows, channels);

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
        layerNorm.Forward(y.View, mean.View, rstd.View, xb.View, wb.View, bb.View, rows, channels);
        layerNorm.Backward(dx.View, dw.View, db.View, dyb.View, xb.View, mean.View, rstd.View, wb.View, rows, channels);

        double Loss(double[] xs, double[] ws, double[] bs) => GradCheck.Dot(HostForward(xs, ws, bs, rows, channels), dy);
        Compare.AssertClose(y.Read().ToDoubles(), HostForward(x, w, b, rows, channels), "layernorm.host.out", 1e-4, 1e-3);
        Compare.AssertClose(dx.Read().ToDoubles(), GradCheck.Numerical(v => Loss(v, w, b), x), "layernorm.fd.dx", 1e-4, 1e-3);
        Compare.AssertClose(dw.Read().ToDoubles(), GradCheck.Numerical(v => Loss(x, v, b), w), "layernorm.fd.dweight", 1e-4, 1e-3);
        Compare.AssertClose(db.Read().ToDoubles(), GradCheck.Numerical(v => Loss(x, w, v), b), "layernorm.fd.dbias", 1e-4, 1e-3);
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
            LayerNorm.For(device).Backward(dx.View, dw.View, db.View, dy.View, x.View, mean.View, rstd.View, w.View, rows, channels);
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
}
