using Cct.Gpu.Layers;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

public sealed class SeqPoolTests
{
    private static IEnumerable<string> Cases => Fixture.CasesOf("seqpool");

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchPyTorch(string c)
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("seqpool");
        var shape = fixture.Shape(c, "x");
        var (batch, tokens, channels) = (shape[0], shape[1], shape[2]);
        using var x = device.Upload(fixture.Floats(c, "x"));
        using var w = device.Upload(fixture.Floats(c, "pool_weight"));
        using var b = device.Upload(fixture.Floats(c, "pool_bias"));
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var y = device.Allocate(batch * channels);
        using var weights = device.Allocate(batch * tokens);
        using var dx = device.Allocate(batch * tokens * channels);
        using var dw = device.Allocate(channels);
        using var db = device.Allocate(1);
        dx.MemSetToZero();
        dw.MemSetToZero();
        db.MemSetToZero();
        var seqPool = SeqPool.For(device);
        seqPool.Forward(y.View, weights.View, x.View, new WeightAndBias(w.View, b.View), batch, tokens, channels);
        seqPool.Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dy.View, x.View, weights.View, w.View, batch, tokens, channels);

        Compare.AssertClose(y.Read(), fixture.Floats(c, "out"), $"seqpool.{c}.out");
        Compare.AssertClose(weights.Read(), fixture.Floats(c, "weights"), $"seqpool.{c}.weights");
        Compare.AssertClose(dx.Read(), fixture.Floats(c, "dx"), $"seqpool.{c}.dx");
        Compare.AssertClose(dw.Read(), fixture.Floats(c, "dpool_weight"), $"seqpool.{c}.dpool_weight");
        Compare.AssertClose(db.Read(), fixture.Floats(c, "dpool_bias"), $"seqpool.{c}.dpool_bias");
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        const int batch = 2, tokens = 3, channels = 4;
        var x = GradCheck.RandomDoubles(1, batch * tokens * channels, 2.0);
        var w = GradCheck.RandomDoubles(2, channels);
        var b = GradCheck.RandomDoubles(3, 1);
        var dy = GradCheck.RandomDoubles(4, batch * channels);
        var device = TestDevices.Cpu;
        using var xb = device.Upload(x.ToFloats());
        using var wb = device.Upload(w.ToFloats());
        using var bb = device.Upload(b.ToFloats());
        using var dyb = device.Upload(dy.ToFloats());
        using var y = device.Allocate(batch * channels);
        using var weights = device.Allocate(batch * tokens);
        using var dx = device.Allocate(batch * tokens * channels);
        using var dw = device.Allocate(channels);
        using var db = device.Allocate(1);
        dx.MemSetToZero();
        dw.MemSetToZero();
        db.MemSetToZero();
        var seqPool = SeqPool.For(device);
        seqPool.Forward(y.View, weights.View, xb.View, new WeightAndBias(wb.View, bb.View), batch, tokens, channels);
        seqPool.Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dyb.View, xb.View, weights.View, wb.View, batch, tokens, channels);

        double Loss(double[] xs, double[] ws, double[] bs) => GradCheck.Dot(HostForward(xs, ws, bs[0], batch, tokens, channels), dy);
        Compare.AssertClose(y.Read().ToDoubles(), HostForward(x, w, b[0], batch, tokens, channels), "seqpool.host.out", Compare.HostReference);
        Compare.AssertClose(dx.Read().ToDoubles(), GradCheck.Numerical(v => Loss(v, w, b), x), "seqpool.fd.dx", Compare.HostReference);
        Compare.AssertClose(dw.Read().ToDoubles(), GradCheck.Numerical(v => Loss(x, v, b), w), "seqpool.fd.dpool_weight", Compare.HostReference);
        Compare.AssertClose(db.Read().ToDoubles(), GradCheck.Numerical(v => Loss(x, w, v), b), "seqpool.fd.dpool_bias", Compare.HostReference);
    }

    [Test]
    public void BackwardAccumulatesIntoGradients()
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("seqpool");
        const string c = "odd";
        var shape = fixture.Shape(c, "x");
        var (batch, tokens, channels) = (shape[0], shape[1], shape[2]);
        using var x = device.Upload(fixture.Floats(c, "x"));
        using var w = device.Upload(fixture.Floats(c, "pool_weight"));
        using var weights = device.Upload(fixture.Floats(c, "weights"));
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var dx = device.Allocate(batch * tokens * channels);
        using var dw = device.Allocate(channels);
        using var db = device.Allocate(1);
        dx.MemSetToZero();
        dw.MemSetToZero();
        db.MemSetToZero();
        for (var i = 0; i < 2; i++)
        {
            SeqPool.For(device).Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dy.View, x.View, weights.View, w.View, batch, tokens, channels);
        }

        Compare.AssertClose(dx.Read(), fixture.Floats(c, "dx").Select(v => 2 * v).ToArray(), "seqpool.accumulate.dx");
        Compare.AssertClose(dw.Read(), fixture.Floats(c, "dpool_weight").Select(v => 2 * v).ToArray(), "seqpool.accumulate.dpool_weight");
    }

    private static double[] HostForward(double[] x, double[] w, double bias, int batch, int tokens, int channels)
    {
        var y = new double[batch * channels];
        for (var b = 0; b < batch; b++)
        {
            var logits = new double[tokens];
            for (var t = 0; t < tokens; t++)
            {
                logits[t] = bias;
                for (var c = 0; c < channels; c++)
                {
                    logits[t] += x[(((b * tokens) + t) * channels) + c] * w[c];
                }
            }

            var max = logits.Max();
            var exps = logits.Select(l => Math.Exp(l - max)).ToArray();
            var sum = exps.Sum();
            for (var t = 0; t < tokens; t++)
            {
                for (var c = 0; c < channels; c++)
                {
                    y[(b * channels) + c] += exps[t] / sum * x[(((b * tokens) + t) * channels) + c];
                }
            }
        }

        return y;
    }
}
