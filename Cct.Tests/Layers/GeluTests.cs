using Cct.Gpu.Layers;
using Cct.Tests.Support;
using MathNet.Numerics;

namespace Cct.Tests.Layers;

public sealed class GeluTests
{
    private static IEnumerable<string> Cases => Fixture.CasesOf("gelu");

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchPyTorch(string c)
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("gelu");
        var x = fixture.Floats(c, "x");
        using var xb = device.Upload(x);
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var y = device.Allocate(x.Length);
        using var dx = device.Allocate(x.Length);
        dx.MemSetToZero();
        var gelu = Gelu.For(device);
        gelu.Forward(y.View, xb.View, x.Length);
        gelu.Backward(dx.View, dy.View, xb.View, x.Length);

        Compare.AssertClose(y.Read(), fixture.Floats(c, "out"), $"gelu.{c}.out");
        Compare.AssertClose(dx.Read(), fixture.Floats(c, "dx"), $"gelu.{c}.dx");
    }

    /// <summary>
    /// The kernel's own erf against MathNet's double-precision erfc on a dense grid over [−10, 10],
    /// through gelu and its derivative (doutput = 1), at the default parity bound.
    /// </summary>
    [Test]
    public void ErfIsAccurateOverAWideRange()
    {
        var x = Enumerable.Range(-10_000, 20_001).Select(i => i / 1000f).ToArray();
        var device = TestDevices.Cpu;
        using var xb = device.Upload(x);
        using var ones = device.Upload(Enumerable.Repeat(1f, x.Length).ToArray());
        using var y = device.Allocate(x.Length);
        using var dx = device.Allocate(x.Length);
        dx.MemSetToZero();
        var gelu = Gelu.For(device);
        gelu.Forward(y.View, xb.View, x.Length);
        gelu.Backward(dx.View, ones.View, xb.View, x.Length);

        var xs = x.ToDoubles();
        var derivative = xs.Select(v => Cdf(v) + (v * Math.Exp(-0.5 * v * v) / Math.Sqrt(2 * Math.PI))).ToArray();
        Compare.AssertClose(y.Read().ToDoubles(), xs.Select(HostGelu).ToArray(), "gelu.grid.out");
        Compare.AssertClose(dx.Read().ToDoubles(), derivative, "gelu.grid.dx");
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        var x = new[] { -4.5, -2.0, -0.7, 0.0, 0.3, 1.1, 3.5 };
        var dy = GradCheck.RandomDoubles(1, x.Length);
        var device = TestDevices.Cpu;
        using var xb = device.Upload(x.ToFloats());
        using var dyb = device.Upload(dy.ToFloats());
        using var dx = device.Allocate(x.Length);
        dx.MemSetToZero();
        Gelu.For(device).Backward(dx.View, dyb.View, xb.View, x.Length);

        double Loss(double[] xs) => GradCheck.Dot(xs.Select(HostGelu).ToArray(), dy);
        Compare.AssertClose(dx.Read().ToDoubles(), GradCheck.Numerical(Loss, x), "gelu.fd.dx", Compare.HostReference);
    }

    [Test]
    public void BackwardAccumulatesIntoGradients()
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("gelu");
        const string c = "random";
        var x = fixture.Floats(c, "x");
        using var xb = device.Upload(x);
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var dx = device.Allocate(x.Length);
        dx.MemSetToZero();
        for (var i = 0; i < 2; i++)
        {
            Gelu.For(device).Backward(dx.View, dy.View, xb.View, x.Length);
        }

        Compare.AssertClose(dx.Read(), fixture.Floats(c, "dx").Select(v => 2 * v).ToArray(), "gelu.accumulate.dx");
    }

    private static double Cdf(double x) => 0.5 * SpecialFunctions.Erfc(-x / Math.Sqrt(2));

    private static double HostGelu(double x) => x * Cdf(x);
}
