using Cct.Gpu.Layers;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

/// <summary>
/// PyTorch keeps the first maximum in row-major window order on ties, and so does the layer
/// (ops_conv.py asserts PyTorch's indices follow that rule), so the tie cases check argmax and
/// dinput placement exactly, not just gradient sums.
/// </summary>
public sealed class MaxPool2dTests
{
    private static IEnumerable<string> Cases => Fixture.CasesOf("maxpool2d");

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchPyTorch(string @case)
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("maxpool2d");
        var s = ShapeOf(fixture, @case);
        using var x = device.Upload(fixture.Floats(@case, "x"));
        using var dy = device.Upload(fixture.Floats(@case, "dout"));
        using var y = device.Allocate(OutputCount(s));
        using var argmax = device.Upload(new int[OutputCount(s)]);
        using var dx = device.Allocate(InputCount(s));
        dx.MemSetToZero();
        var pool = MaxPool2d.For(device);
        pool.Forward(y.View, argmax.View, x.View, s);
        pool.Backward(dx.View, dy.View, argmax.View, s);

        Assert.That(fixture.Shape(@case, "out"), Is.EqualTo(new[] { s.Batch, s.Channels, s.OutHeight, s.OutWidth }), "OutHeight/OutWidth");
        Compare.AssertClose(y.Read(), fixture.Floats(@case, "out"), $"maxpool2d.{@case}.out");
        Assert.That(argmax.Read(), Is.EqualTo(fixture.Ints(@case, "argmax")), $"maxpool2d.{@case}.argmax");
        Compare.AssertClose(dx.Read(), fixture.Floats(@case, "dx"), $"maxpool2d.{@case}.dx");
    }

    [TestCase(3, 2, 1)]
    [TestCase(2, 2, 0)]
    public void BackwardMatchesFiniteDifferences(int kernel, int stride, int padding)
    {
        var s = new Pool2dShape(2, 2, 5, 6, kernel, stride, padding);
        var x = DistinctValues(InputCount(s));
        var dy = GradCheck.RandomDoubles(2, OutputCount(s));
        var device = TestDevices.Cpu;
        using var xb = device.Upload(x.ToFloats());
        using var dyb = device.Upload(dy.ToFloats());
        using var y = device.Allocate(OutputCount(s));
        using var argmax = device.Upload(new int[OutputCount(s)]);
        using var dx = device.Allocate(x.Length);
        dx.MemSetToZero();
        var pool = MaxPool2d.For(device);
        pool.Forward(y.View, argmax.View, xb.View, s);
        pool.Backward(dx.View, dyb.View, argmax.View, s);

        var numerical = GradCheck.Numerical(v => GradCheck.Dot(HostForward(v, s), dy), x);
        Compare.AssertClose(dx.Read().ToDoubles(), numerical, $"maxpool2d.fd.k{kernel}s{stride}p{padding}.dx", Compare.HostReference);
    }

    [Test]
    public void BackwardAccumulatesIntoGradients()
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("maxpool2d");
        const string c = "tok_odd";
        var s = ShapeOf(fixture, c);
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var argmax = device.Upload(fixture.Ints(c, "argmax"));
        using var dx = device.Allocate(InputCount(s));
        dx.MemSetToZero();
        for (var i = 0; i < 2; i++)
        {
            MaxPool2d.For(device).Backward(dx.View, dy.View, argmax.View, s);
        }

        Compare.AssertClose(dx.Read(), fixture.Floats(c, "dx").Select(v => 2 * v).ToArray(), "maxpool2d.accumulate.dx");
    }

    /// <summary>
    /// A conv stage without dropout pools before its ReLU (ConvStageSpec.PoolsBeforeRelu): relu(max) in one launch and a
    /// backward gated on the pooled output. On values in steps of 0.5 from −2 to 2 (ties, zeros, all-negative windows)
    /// (no −0, whose sign the two orders may keep differently; it changes no value) it gives exactly what the ReLU then
    /// the pool give, output and input gradient bit for bit, accumulating into the
    /// same non-zero gradient.
    /// </summary>
    [TestCase(3, 2, 1)]
    [TestCase(2, 2, 0)]
    public void PoolingBeforeTheReluEqualsTheReluThenThePool(int kernel, int stride, int padding)
    {
        var device = TestDevices.GpuKernelsCpu;
        var s = new Pool2dShape(2, 3, 7, 9, kernel, stride, padding);
        var random = new Random(5);
        var x = Enumerable.Range(0, InputCount(s)).Select(_ => random.Next(-4, 5) * 0.5f).ToArray();
        var dy = GradCheck.RandomDoubles(6, OutputCount(s)).ToFloats();
        var initial = GradCheck.RandomDoubles(7, InputCount(s)).ToFloats();
        using var xb = device.Upload(x);
        using var dyb = device.Upload(dy);
        var pool = MaxPool2d.For(device);

        using var relu = device.Allocate(InputCount(s));
        using var reluThenPool = device.Allocate(OutputCount(s));
        using var argmax = device.Upload(new int[OutputCount(s)]);
        using var dRelu = device.Upload(new float[InputCount(s)]);
        using var dxReluFirst = device.Upload(initial);
        Relu.For(device).Forward(relu.View, xb.View, InputCount(s));
        pool.Forward(reluThenPool.View, argmax.View, relu.View, s);
        pool.Backward(dRelu.View, dyb.View, argmax.View, s);
        Relu.For(device).Backward(dxReluFirst.View, dRelu.View, xb.View, InputCount(s));

        using var poolThenRelu = device.Allocate(OutputCount(s));
        using var rawArgmax = device.Upload(new int[OutputCount(s)]);
        using var dxPoolFirst = device.Upload(initial);
        pool.ForwardRelu(poolThenRelu.View, rawArgmax.View, xb.View, s);
        pool.BackwardThroughRelu(dxPoolFirst.View, dyb.View, rawArgmax.View, poolThenRelu.View, s);

        Assert.That(poolThenRelu.Read().Select(BitConverter.SingleToInt32Bits), Is.EqualTo(reluThenPool.Read().Select(BitConverter.SingleToInt32Bits)), "relu(max) = max(relu)");
        Assert.That(dxPoolFirst.Read().Select(BitConverter.SingleToInt32Bits), Is.EqualTo(dxReluFirst.Read().Select(BitConverter.SingleToInt32Bits)), "dinput");
        Assert.That(dxPoolFirst.Read(), Is.Not.EqualTo(initial), "some gradient passed");
    }

    [Test]
    public void ForwardPropagatesNaN()
    {
        var device = TestDevices.Cpu;
        var s = new Pool2dShape(1, 1, 2, 2, 2, 2, 0);
        using var x = device.Upload([1f, float.NaN, 3f, 2f]);
        using var y = device.Allocate(1);
        using var argmax = device.Upload(new int[1]);
        MaxPool2d.For(device).Forward(y.View, argmax.View, x.View, s);

        Assert.That(y.Read()[0], Is.NaN);
        Assert.That(argmax.Read()[0], Is.EqualTo(1));
    }

    private static Pool2dShape ShapeOf(Fixture fixture, string c)
    {
        var d = fixture.Ints(c, "dims");
        return new Pool2dShape(d[0], d[1], d[2], d[3], d[4], d[5], d[6]);
    }

    private static int InputCount(Pool2dShape s) => s.Batch * s.Channels * s.Height * s.Width;

    private static int OutputCount(Pool2dShape s) => s.Batch * s.Channels * s.OutHeight * s.OutWidth;

    /// <summary>A shuffled ramp: no ties, and gaps of 0.05 that a finite-difference step cannot reorder.</summary>
    private static double[] DistinctValues(int count)
    {
        var values = Enumerable.Range(0, count).Select(i => (i - (count / 2)) * 0.05).ToArray();
        new Random(1).Shuffle(values);
        return values;
    }

    private static double[] HostForward(double[] x, Pool2dShape s)
    {
        var (ho, wo) = (s.OutHeight, s.OutWidth);
        var y = new double[OutputCount(s)];
        for (var plane = 0; plane < s.Batch * s.Channels; plane++)
        {
            for (var oh = 0; oh < ho; oh++)
            {
                for (var ow = 0; ow < wo; ow++)
                {
                    var best = double.NegativeInfinity;
                    for (var kh = 0; kh < s.Kernel; kh++)
                    {
                        for (var kw = 0; kw < s.Kernel; kw++)
                        {
                            var (h, w) = ((oh * s.Stride) + kh - s.Padding, (ow * s.Stride) + kw - s.Padding);
                            if (h >= 0 && h < s.Height && w >= 0 && w < s.Width)
                            {
                                best = Math.Max(best, x[(((plane * s.Height) + h) * s.Width) + w]);
                            }
                        }
                    }

                    y[(((plane * ho) + oh) * wo) + ow] = best;
                }
            }
        }

        return y;
    }
}
