using Cct.Gpu.Layers;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

public sealed class ResidualTests
{
    private static IEnumerable<string> Cases => Fixture.CasesOf("residual");

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchPyTorch(string c)
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("residual");
        var count = fixture.Floats(c, "x1").Length;
        using var x1 = device.Upload(fixture.Floats(c, "x1"));
        using var x2 = device.Upload(fixture.Floats(c, "x2"));
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var y = device.Allocate(count);
        using var dx1 = device.Allocate(count);
        using var dx2 = device.Allocate(count);
        dx1.MemSetToZero();
        dx2.MemSetToZero();
        var residual = Residual.For(device);
        residual.Forward(y.View, x1.View, x2.View, count);
        residual.Backward(dx1.View, dx2.View, dy.View, count);

        Compare.AssertClose(y.Read(), fixture.Floats(c, "out"), $"residual.{c}.out");
        Compare.AssertClose(dx1.Read(), fixture.Floats(c, "dx1"), $"residual.{c}.dx1");
        Compare.AssertClose(dx2.Read(), fixture.Floats(c, "dx2"), $"residual.{c}.dx2");
    }

    /// <summary>The model updates its residual stream in place: x = x + f(x).</summary>
    [Test]
    public void ForwardMayWriteIntoAnInput()
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("residual");
        const string c = "tokens";
        var count = fixture.Floats(c, "x1").Length;
        using var x1 = device.Upload(fixture.Floats(c, "x1"));
        using var x2 = device.Upload(fixture.Floats(c, "x2"));
        Residual.For(device).Forward(x1.View, x1.View, x2.View, count);

        Compare.AssertClose(x1.Read(), fixture.Floats(c, "out"), "residual.inplace.out");
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        const int count = 6;
        var x1 = GradCheck.RandomDoubles(1, count);
        var x2 = GradCheck.RandomDoubles(2, count);
        var dy = GradCheck.RandomDoubles(3, count);
        var device = TestDevices.Cpu;
        using var dyb = device.Upload(dy.ToFloats());
        using var dx1 = device.Allocate(count);
        using var dx2 = device.Allocate(count);
        dx1.MemSetToZero();
        dx2.MemSetToZero();
        Residual.For(device).Backward(dx1.View, dx2.View, dyb.View, count);

        double Loss(double[] a, double[] b) => GradCheck.Dot(a.Zip(b, (p, q) => p + q).ToArray(), dy);
        Compare.AssertClose(dx1.Read().ToDoubles(), GradCheck.Numerical(v => Loss(v, x2), x1), "residual.fd.dx1", Compare.HostReference);
        Compare.AssertClose(dx2.Read().ToDoubles(), GradCheck.Numerical(v => Loss(x1, v), x2), "residual.fd.dx2", Compare.HostReference);
    }

    [Test]
    public void BackwardAccumulatesIntoGradients()
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("residual");
        const string c = "odd";
        var count = fixture.Floats(c, "x1").Length;
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var dx1 = device.Allocate(count);
        using var dx2 = device.Allocate(count);
        dx1.MemSetToZero();
        dx2.MemSetToZero();
        for (var i = 0; i < 2; i++)
        {
            Residual.For(device).Backward(dx1.View, dx2.View, dy.View, count);
        }

        Compare.AssertClose(dx1.Read(), fixture.Floats(c, "dx1").Select(v => 2 * v).ToArray(), "residual.accumulate.dx1");
        Compare.AssertClose(dx2.Read(), fixture.Floats(c, "dx2").Select(v => 2 * v).ToArray(), "residual.accumulate.dx2");
    }
}
