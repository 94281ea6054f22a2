using Cct.Gpu.Layers;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

public sealed class ReluTests
{
    private static IEnumerable<string> Cases => Fixture.CasesOf("relu");

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchPyTorch(string @case)
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("relu");
        var input = fixture.Floats(@case, "x");
        var n = input.Length;
        using var x = device.Upload(input);
        using var dy = device.Upload(fixture.Floats(@case, "dout"));
        using var y = device.Allocate(n);
        using var dx = device.Allocate(n);
        dx.MemSetToZero();
        var relu = Relu.For(device);
        relu.Forward(y.View, x.View, n);
        relu.Backward(dx.View, dy.View, x.View, n);

        Compare.AssertClose(y.Read(), fixture.Floats(@case, "out"), $"relu.{@case}.out");
        Compare.AssertClose(dx.Read(), fixture.Floats(@case, "dx"), $"relu.{@case}.dx");
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        // Keep inputs away from the kink at 0, where the central difference is meaningless.
        var x = GradCheck.RandomDoubles(1, 23).Select(v => Math.Abs(v) < 0.01 ? 0.5 : v).ToArray();
        var dy = GradCheck.RandomDoubles(2, x.Length);
        var device = TestDevices.Cpu;
        using var xb = device.Upload(x.ToFloats());
        using var dyb = device.Upload(dy.ToFloats());
        using var dx = device.Allocate(x.Length);
        dx.MemSetToZero();
        Relu.For(device).Backward(dx.View, dyb.View, xb.View, x.Length);

        var numerical = GradCheck.Numerical(v => GradCheck.Dot(v.Select(e => Math.Max(e, 0)).ToArray(), dy), x);
        Compare.AssertClose(dx.Read().ToDoubles(), numerical, "relu.fd.dx", Compare.HostReference);
    }

    [Test]
    public void BackwardAccumulatesIntoGradients()
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("relu");
        const string c = "odd";
        var input = fixture.Floats(c, "x");
        using var x = device.Upload(input);
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var dx = device.Allocate(input.Length);
        dx.MemSetToZero();
        for (var i = 0; i < 2; i++)
        {
            Relu.For(device).Backward(dx.View, dy.View, x.View, input.Length);
        }

        Compare.AssertClose(dx.Read(), fixture.Floats(c, "dx").Select(v => 2 * v).ToArray(), "relu.accumulate.dx");
    }

    [Test]
    public void ForwardPropagatesNaN()
    {
        var device = TestDevices.Cpu;
        using var x = device.Upload([float.NaN, -1f, 2f]);
        using var y = device.Allocate(3);
        Relu.For(device).Forward(y.View, x.View, 3);

        Assert.That(y.Read(), Is.EqualTo(new[] { float.NaN, 0f, 2f }));
    }
}
