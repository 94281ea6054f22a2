using Cct.Gpu.Layers;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

public sealed class MeanPoolTests
{
    private static IEnumerable<string> Cases => Fixture.CasesOf("meanpool");

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchPyTorch(string c)
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("meanpool");
        var shape = fixture.Shape(c, "x");
        var (batch, tokens, channels) = (shape[0], shape[1], shape[2]);
        using var x = device.Upload(fixture.Floats(c, "x"));
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var y = device.Allocate(batch * channels);
        using var dx = device.Allocate(batch * tokens * channels);
        dx.MemSetToZero();
        var meanPool = MeanPool.For(device);
        meanPool.Forward(y.View, x.View, batch, tokens, channels);
        meanPool.Backward(dx.View, dy.View, batch, tokens, channels);

        Compare.AssertClose(y.Read(), fixture.Floats(c, "out"), $"meanpool.{c}.out");
        Compare.AssertClose(dx.Read(), fixture.Floats(c, "dx"), $"meanpool.{c}.dx");
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        const int batch = 2, tokens = 3, channels = 4;
        var x = GradCheck.RandomDoubles(1, batch * tokens * channels);
        var dy = GradCheck.RandomDoubles(2, batch * channels);
        var device = TestDevices.Cpu;
        using var xb = device.Upload(x.ToFloats());
        using var dyb = device.Upload(dy.ToFloats());
        using var y = device.Allocate(batch * channels);
        using var dx = device.Allocate(batch * tokens * channels);
        dx.MemSetToZero();
        var meanPool = MeanPool.For(device);
        meanPool.Forward(y.View, xb.View, batch, tokens, channels);
        meanPool.Backward(dx.View, dyb.View, batch, tokens, channels);

        Compare.AssertClose(y.Read().ToDoubles(), HostForward(x, batch, tokens, channels), "meanpool.host.out", Compare.HostReference);
        double Loss(double[] xs) => GradCheck.Dot(HostForward(xs, batch, tokens, channels), dy);
        Compare.AssertClose(dx.Read().ToDoubles(), GradCheck.Numerical(Loss, x), "meanpool.fd.dx", Compare.HostReference);
    }

    [Test]
    public void BackwardAccumulatesIntoGradients()
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("meanpool");
        const string c = "odd";
        var shape = fixture.Shape(c, "x");
        var (batch, tokens, channels) = (shape[0], shape[1], shape[2]);
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var dx = device.Allocate(batch * tokens * channels);
        dx.MemSetToZero();
        for (var i = 0; i < 2; i++)
        {
            MeanPool.For(device).Backward(dx.View, dy.View, batch, tokens, channels);
        }

        Compare.AssertClose(dx.Read(), fixture.Floats(c, "dx").Select(v => 2 * v).ToArray(), "meanpool.accumulate.dx");
    }

    private static double[] HostForward(double[] x, int batch, int tokens, int channels)
    {
        var y = new double[batch * channels];
        for (var b = 0; b < batch; b++)
        {
            for (var t = 0; t < tokens; t++)
            {
                for (var c = 0; c < channels; c++)
                {
                    y[(b * channels) + c] += x[(((b * tokens) + t) * channels) + c] / tokens;
                }
            }
        }

        return y;
    }
}
