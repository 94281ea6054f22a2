using Cct.Gpu.Layers;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

public sealed class TokensTests
{
    private static IEnumerable<string> Cases => Fixture.CasesOf("tokens");

    private static IEnumerable<string> SineCases => Fixture.Load("tokens").Meta("sine_cases").Split(',');

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchPyTorch(string @case)
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("tokens");
        var shape = ShapeOf(fixture, @case);
        var hasEmbedding = fixture.Ints(@case, "has_pos_emb")[0] == 1;
        var embeddingLength = shape.Tokens * shape.Channels;
        using var x = device.Upload(fixture.Floats(@case, "x"));
        using var pe = device.Upload(fixture.Floats(@case, "pos_emb"));
        using var dy = device.Upload(fixture.Floats(@case, "dout"));
        using var y = device.Allocate(x.Length);
        using var dx = device.Allocate(x.Length);
        using var dpe = device.Allocate(embeddingLength);
        dx.MemSetToZero();
        dpe.MemSetToZero();
        var tokens = Tokens.For(device);
        tokens.Forward(y.View, x.View, pe.View, hasEmbedding, shape);
        tokens.Backward(dx.View, dpe.View, dy.View, hasEmbedding, shape);

        var p = $"tokens.{@case}.";
        Compare.AssertClose(y.Read(), fixture.Floats(@case, "out"), p + "out");
        Compare.AssertClose(dx.Read(), fixture.Floats(@case, "dx"), p + "dx");
        // Without an embedding the fixture's gradient is zero and the buffer must stay untouched.
        Compare.AssertClose(dpe.Read(), fixture.Floats(@case, "dpos_emb"), p + "dpos_emb");
    }

    [TestCaseSource(nameof(SineCases))]
    public void SineEmbeddingMatchesOfficialCct(string @case)
    {
        var fixture = Fixture.Load("tokens");
        var shape = fixture.Shape(@case, "table");
        Compare.AssertClose(Tokens.SineEmbedding(shape[0], shape[1]), fixture.Floats(@case, "table"), $"tokens.{@case}");
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        var shape = new TokensShape(2, 3, 4);
        var count = (int)shape.Elements;
        var embeddingLength = shape.Tokens * shape.Channels;
        var x = GradCheck.RandomDoubles(1, count);
        var pe = GradCheck.RandomDoubles(2, embeddingLength);
        var dy = GradCheck.RandomDoubles(3, count);
        var device = TestDevices.Cpu;
        using var dyb = device.Upload(dy.ToFloats());
        using var dx = device.Allocate(count);
        using var dpe = device.Allocate(embeddingLength);
        dx.MemSetToZero();
        dpe.MemSetToZero();
        Tokens.For(device).Backward(dx.View, dpe.View, dyb.View, true, shape);

        double Loss(double[] xs, double[] pes) => GradCheck.Dot(HostForward(xs, pes, shape), dy);
        Compare.AssertClose(dx.Read().ToDoubles(), GradCheck.Numerical(v => Loss(v, pe), x), "tokens.fd.dx", Compare.HostReference);
        Compare.AssertClose(dpe.Read().ToDoubles(), GradCheck.Numerical(v => Loss(x, v), pe), "tokens.fd.dpos_emb", Compare.HostReference);
    }

    [Test]
    public void ForwardMatchesHostReference()
    {
        var shape = new TokensShape(2, 3, 4);
        var x = GradCheck.RandomDoubles(5, (int)shape.Elements);
        var pe = GradCheck.RandomDoubles(6, shape.Tokens * shape.Channels);
        var device = TestDevices.Cpu;
        using var xb = device.Upload(x.ToFloats());
        using var peb = device.Upload(pe.ToFloats());
        using var y = device.Allocate(x.Length);
        Tokens.For(device).Forward(y.View, xb.View, peb.View, true, shape);
        Compare.AssertClose(y.Read().ToDoubles(), HostForward(x, pe, shape), "tokens.host.out");
    }

    [Test]
    public void BackwardAccumulatesIntoGradients()
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("tokens");
        const string c = "wide";
        var shape = ShapeOf(fixture, c);
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var dx = device.Allocate(dy.Length);
        using var dpe = device.Allocate(shape.Tokens * shape.Channels);
        dx.MemSetToZero();
        dpe.MemSetToZero();
        for (var i = 0; i < 2; i++)
        {
            Tokens.For(device).Backward(dx.View, dpe.View, dy.View, true, shape);
        }

        Compare.AssertClose(dx.Read(), fixture.Floats(c, "dx").Select(v => 2 * v).ToArray(), "tokens.accumulate.dx");
        Compare.AssertClose(dpe.Read(), fixture.Floats(c, "dpos_emb").Select(v => 2 * v).ToArray(), "tokens.accumulate.dpos_emb");
    }

    private static TokensShape ShapeOf(Fixture fixture, string @case)
    {
        var s = fixture.Shape(@case, "x");
        return new TokensShape(s[0], s[1], s[2] * s[3]);
    }

    // output[b, t, c] = x[b, c, t] + pe[t, c] in double precision.
    private static double[] HostForward(double[] x, double[] pe, TokensShape s)
    {
        var y = new double[x.Length];
        for (var b = 0; b < s.Batch; b++)
        {
            for (var t = 0; t < s.Tokens; t++)
            {
                for (var c = 0; c < s.Channels; c++)
                {
                    y[(((b * s.Tokens) + t) * s.Channels) + c] = x[(((b * s.Channels) + c) * s.Tokens) + t] + pe[(t * s.Channels) + c];
                }
            }
        }

        return y;
    }
}
