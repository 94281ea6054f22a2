using Cct.Gpu.Layers;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

public sealed class Conv2dTests
{
    private static IEnumerable<string> Cases => Fixture.CasesOf("conv2d");

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchPyTorch(string @case) => Check(@case, TestDevices.Cpu, "conv2d");

    /// <summary>The implicit GEMMs GPUs run, checked here on the simulator that runs the GPU kernels, against the same fixtures.</summary>
    [TestCaseSource(nameof(Cases))]
    public void ImplicitGemmMatchesPyTorch(string @case) => Check(@case, TestDevices.GpuKernelsCpu, "conv2d.implicit_gemm");

    /// <summary>The OpenCL-CPU path (input unfolded, register-tiled products), against the same fixtures.</summary>
    [TestCaseSource(nameof(Cases))]
    public void UnfoldedRegisterTilesMatchPyTorch(string @case) => Check(@case, TestDevices.RegisterTilesCpu, "conv2d.register_tiles");

    private static void Check(string @case, Cct.Gpu.Runtime.ComputeDevice device, string label)
    {
        var fixture = Fixture.Load("conv2d");
        var s = ShapeOf(fixture, @case);
        using var x = device.Upload(fixture.Floats(@case, "x"));
        using var w = device.Upload(fixture.Floats(@case, "weight"));
        using var dy = device.Upload(fixture.Floats(@case, "dout"));
        using var y = device.Allocate(OutputCount(s));
        using var dx = device.Allocate(InputCount(s));
        using var dw = device.Allocate(WeightCount(s));
        dx.MemSetToZero();
        dw.MemSetToZero();
        var conv = Conv2d.For(device);
        conv.Forward(y.View, x.View, w.View, s);
        conv.Backward(new Conv2dGradients(dx.View, dw.View), dy.View, x.View, w.View, s);

        Assert.That(fixture.Shape(@case, "out"), Is.EqualTo(new[] { s.Batch, s.OutChannels, s.OutHeight, s.OutWidth }), "OutHeight/OutWidth");
        Compare.AssertClose(y.Read(), fixture.Floats(@case, "out"), $"{label}.{@case}.out");
        Compare.AssertClose(dx.Read(), fixture.Floats(@case, "dx"), $"{label}.{@case}.dx");
        Compare.AssertClose(dw.Read(), fixture.Floats(@case, "dweight"), $"{label}.{@case}.dweight");
    }

    /// <summary>
    /// The CPU kernels compute 4 outputs, inputs or input channels per item; widths and channel counts that are not
    /// multiples of 4, strides and paddings exercise partial blocks. The GPU's implicit GEMMs gather the same
    /// taps, with strides that skip input pixels and kernels wider than the padding; gradients start non-zero. With
    /// channel counts that are multiples of 8 they sum K in tap-major order (TapMajorUnfoldedInput).
    /// Only the order of fp32 sums differs: bound 1e-5 + 1e-4·|ref|.
    /// </summary>
    [TestCase(2, 5, 7, 9, 3, 3, 1, 1)]
    [TestCase(1, 3, 6, 5, 2, 3, 2, 0)]
    [TestCase(2, 6, 9, 11, 5, 5, 2, 2)]
    [TestCase(1, 1, 4, 3, 4, 3, 3, 1)]
    [TestCase(1, 2, 2, 2, 1, 1, 1, 0)]
    [TestCase(8, 3, 6, 7, 16, 3, 1, 1)] // register tiles on 2 cores: the weight gradient in 4 chunks of 2 images
    [TestCase(2, 3, 5, 6, 70, 3, 1, 1)] // and unchunked (9 rows of tiles)
    [TestCase(2, 8, 6, 7, 16, 3, 1, 1)] // channels a multiple of 8: both passes' K in tap-major order
    [TestCase(1, 16, 5, 9, 8, 5, 1, 2)] // ... over 25 taps, 50 K steps of 8
    [TestCase(2, 8, 5, 5, 24, 1, 1, 0)] // ... with one tap
    [TestCase(2, 8, 7, 9, 8, 3, 2, 1)] // ... the forward only: stride 2 keeps the input gradient's (co, kh, kw) order
    [TestCase(1, 8, 4, 5, 136, 3, 1, 1)] // ... past one 128-row tile of output channels
    [TestCase(1, 128, 8, 16, 8, 1, 1, 0)] // ... the input gradient (128 x 128 an image) on the large tile (one tap: K = 1,152 sums error past the bound)
    [TestCase(2, 16, 4, 4, 128, 3, 1, 1)] // ... the weight gradient (128 x 144) on the large tile
    public void CpuLaneKernelsAgreeWithImplicitGemm(int batch, int cin, int height, int width, int cout, int kernel, int stride, int padding)
    {
        var s = new Conv2dShape(batch, cin, height, width, cout, kernel, stride, padding);
        var x = GradCheck.RandomDoubles(4, InputCount(s)).ToFloats();
        var w = GradCheck.RandomDoubles(5, WeightCount(s)).ToFloats();
        var dy = GradCheck.RandomDoubles(6, OutputCount(s)).ToFloats();
        var lanes = Run(TestDevices.Cpu, Conv2d.For(TestDevices.Cpu));
        var gemm = Run(TestDevices.GpuKernelsCpu, Conv2d.For(TestDevices.GpuKernelsCpu));

        Compare.AssertClose(gemm.Y, lanes.Y, "conv2d.lanes_vs_gemm.out");
        Compare.AssertClose(gemm.Dx, lanes.Dx, "conv2d.lanes_vs_gemm.dx");
        Compare.AssertClose(gemm.Dw, lanes.Dw, "conv2d.lanes_vs_gemm.dweight");

        // The OpenCL-CPU path (unfolded input, register tiles) on the same shapes and starting gradients.
        var tiles = Run(TestDevices.RegisterTilesCpu, Conv2d.For(TestDevices.RegisterTilesCpu));
        Compare.AssertClose(tiles.Y, lanes.Y, "conv2d.register_tiles_vs_lanes.out");
        Compare.AssertClose(tiles.Dx, lanes.Dx, "conv2d.register_tiles_vs_lanes.dx");
        Compare.AssertClose(tiles.Dw, lanes.Dw, "conv2d.register_tiles_vs_lanes.dweight");

        (float[] Y, float[] Dx, float[] Dw) Run(Cct.Gpu.Runtime.ComputeDevice device, Conv2d conv)
        {
            using var xb = device.Upload(x);
            using var wb = device.Upload(w);
            using var dyb = device.Upload(dy);
            using var y = device.Allocate(OutputCount(s));
            using var dx = device.Upload(Enumerable.Repeat(0.5f, x.Length).ToArray());
            using var dw = device.Upload(Enumerable.Repeat(-0.25f, w.Length).ToArray());
            conv.Forward(y.View, xb.View, wb.View, s);
            conv.Backward(new Conv2dGradients(dx.View, dw.View), dyb.View, xb.View, wb.View, s);
            return (y.Read(), dx.Read(), dw.Read());
        }
    }

    [TestCase(1, 1)]
    [TestCase(2, 1)]
    [TestCase(2, 0)]
    public void BackwardMatchesFiniteDifferences(int stride, int padding)
    {
        var s = new Conv2dShape(2, 2, 5, 4, 3, 3, stride, padding);
        var x = GradCheck.RandomDoubles(1, InputCount(s));
        var w = GradCheck.RandomDoubles(2, WeightCount(s));
        var dy = GradCheck.RandomDoubles(3, OutputCount(s));
        var device = TestDevices.Cpu;
        using var xb = device.Upload(x.ToFloats());
        using var wb = device.Upload(w.ToFloats());
        using var dyb = device.Upload(dy.ToFloats());
        using var dx = device.Allocate(x.Length);
        using var dw = device.Allocate(w.Length);
        dx.MemSetToZero();
        dw.MemSetToZero();
        Conv2d.For(device).Backward(new Conv2dGradients(dx.View, dw.View), dyb.View, xb.View, wb.View, s);

        double Loss(double[] xs, double[] ws) => GradCheck.Dot(HostForward(xs, ws, s), dy);
        Compare.AssertClose(dx.Read().ToDoubles(), GradCheck.Numerical(v => Loss(v, w), x), $"conv2d.fd.s{stride}p{padding}.dx", Compare.HostReference);
        Compare.AssertClose(dw.Read().ToDoubles(), GradCheck.Numerical(v => Loss(x, v), w), $"conv2d.fd.s{stride}p{padding}.dweight", Compare.HostReference);
    }

    [Test]
    public void BackwardAccumulatesIntoGradients()
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("conv2d");
        const string c = "stride2";
        var s = ShapeOf(fixture, c);
        using var x = device.Upload(fixture.Floats(c, "x"));
        using var w = device.Upload(fixture.Floats(c, "weight"));
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var dx = device.Allocate(InputCount(s));
        using var dw = device.Allocate(WeightCount(s));
        dx.MemSetToZero();
        dw.MemSetToZero();
        for (var i = 0; i < 2; i++)
        {
            Conv2d.For(device).Backward(new Conv2dGradients(dx.View, dw.View), dy.View, x.View, w.View, s);
        }

        Compare.AssertClose(dx.Read(), fixture.Floats(c, "dx").Select(v => 2 * v).ToArray(), "conv2d.accumulate.dx");
        Compare.AssertClose(dw.Read(), fixture.Floats(c, "dweight").Select(v => 2 * v).ToArray(), "conv2d.accumulate.dweight");
    }

    /// <summary>The first layer skips dinput: its buffer stays untouched while dweight is still computed.</summary>
    [Test]
    public void BackwardWithoutInputGradientLeavesDinputAlone()
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("conv2d");
        const string c = "tokenizer";
        var s = ShapeOf(fixture, c);
        var sentinel = Enumerable.Repeat(7f, InputCount(s)).ToArray();
        using var x = device.Upload(fixture.Floats(c, "x"));
        using var w = device.Upload(fixture.Floats(c, "weight"));
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var dx = device.Upload(sentinel);
        using var dw = device.Allocate(WeightCount(s));
        dw.MemSetToZero();
        Conv2d.For(device).Backward(new Conv2dGradients(dx.View, dw.View), dy.View, x.View, w.View, s, inputGradient: false);

        Assert.That(dx.Read(), Is.EqualTo(sentinel));
        Compare.AssertClose(dw.Read(), fixture.Floats(c, "dweight"), "conv2d.no_dinput.dweight");
    }

    /// <summary>
    /// The bias pass adds one fp32 value to each output, as the host does in fp32: bit-identical, on the CPU kernels
    /// and on the simulator running the GPU path (the same elementwise kernel). Odd channel counts, strides, paddings.
    /// </summary>
    [TestCase(false, 2, 5, 7, 9, 3, 3, 1, 1)]
    [TestCase(false, 3, 2, 6, 5, 7, 3, 2, 0)]
    [TestCase(true, 1, 1, 5, 3, 5, 3, 1, 1)]
    [TestCase(true, 3, 3, 9, 11, 16, 3, 1, 1)]
    public void AddBiasMatchesHost(bool gpuKernels, int batch, int cin, int height, int width, int cout, int kernel, int stride, int padding)
    {
        var device = gpuKernels ? TestDevices.GpuKernelsCpu : TestDevices.Cpu;
        var s = new Conv2dShape(batch, cin, height, width, cout, kernel, stride, padding);
        var x = GradCheck.RandomDoubles(7, InputCount(s)).ToFloats();
        var w = GradCheck.RandomDoubles(8, WeightCount(s)).ToFloats();
        var bias = GradCheck.RandomDoubles(9, cout).ToFloats();
        using var xb = device.Upload(x);
        using var wb = device.Upload(w);
        using var bb = device.Upload(bias);
        using var y = device.Allocate(OutputCount(s));
        var conv = Conv2d.For(device);
        conv.Forward(y.View, xb.View, wb.View, s);
        var plain = y.Read();
        conv.AddBias(y.View, bb.View, s);

        var spatial = s.OutHeight * s.OutWidth;
        var expected = plain.Select((v, i) => v + bias[i / spatial % cout]).ToArray();
        Assert.That(y.Read(), Is.EqualTo(expected), "conv2d.add_bias");

        // And conv + bias against the double host convolution, at the default bound (fp32 sums of Cin·K² terms).
        var host = HostForward(x.ToDoubles(), w.ToDoubles(), s).Select((v, i) => v + bias[i / spatial % cout]).ToArray();
        Compare.AssertClose(y.Read().ToDoubles(), host, $"conv2d.add_bias.host.{(gpuKernels ? "gemm" : "lanes")}");
    }

    /// <summary>
    /// dbias (Cout) += the per-channel sum of doutput over (B, Ho, Wo), against the host sum in double, twice from a
    /// non-zero start (it accumulates). Values are in [−1, 1] with 3 decimals and a channel sums at most 3·99 = 297 of
    /// them in fp32, sequentially: the rounding error stays below about 297·2⁻²⁴·|partial| ≲ 1e-4 even for partials
    /// near 10, so the bound is 1e-4 + 1e-4·|ref|.
    /// </summary>
    [TestCase(2, 5, 7, 9, 3, 3, 1, 1)]
    [TestCase(3, 2, 6, 5, 7, 3, 2, 0)]
    [TestCase(1, 1, 5, 3, 5, 3, 1, 1)]
    [TestCase(3, 3, 9, 11, 16, 3, 1, 1)]
    public void BackwardBiasAccumulatesHostChannelSums(int batch, int cin, int height, int width, int cout, int kernel, int stride, int padding)
    {
        var device = TestDevices.Cpu;
        var s = new Conv2dShape(batch, cin, height, width, cout, kernel, stride, padding);
        var dy = GradCheck.RandomDoubles(10, OutputCount(s)).ToFloats();
        var start = GradCheck.RandomDoubles(11, cout).ToFloats();
        using var dyb = device.Upload(dy);
        using var db = device.Upload(start);
        var conv = Conv2d.For(device);
        conv.BackwardBias(db.View, dyb.View, s);
        var once = db.Read();
        conv.BackwardBias(db.View, dyb.View, s);

        var sums = HostChannelSums(dy, s);
        Compare.AssertClose(once.ToDoubles(), start.Select((v, c) => v + sums[c]).ToArray(), "conv2d.bias_backward.once", Tolerance.Reduction);
        Compare.AssertClose(db.Read().ToDoubles(), start.Select((v, c) => v + (2 * sums[c])).ToArray(), "conv2d.bias_backward.twice", Tolerance.Reduction);
    }

    /// <summary>
    /// The GPU path (one group per channel and run of images, fixed-order tree sums, then chunk partials added in
    /// order) on the simulator, with 1, 2, 3 and the default chunking, against the CPU kernel: only the order of the
    /// fp32 sums differs (bound 1e-4 + 1e-4·|ref|, as above); two runs give the same bits.
    /// </summary>
    [TestCase(3, 3, 9, 11, 16, 1)]
    [TestCase(3, 3, 9, 11, 16, 2)]
    [TestCase(5, 2, 7, 5, 3, 3)]
    [TestCase(5, 2, 7, 5, 3, 0)]
    public void BackwardBiasGroupKernelAgreesWithCpuKernel(int batch, int cin, int height, int width, int cout, int chunks)
    {
        var s = new Conv2dShape(batch, cin, height, width, cout, 3, 1, 1);
        var dy = GradCheck.RandomDoubles(12, OutputCount(s)).ToFloats();
        var start = GradCheck.RandomDoubles(13, cout).ToFloats();
        var cpu = Run(TestDevices.Cpu);
        var gpu = Run(TestDevices.GpuKernelsCpu);
        var again = Run(TestDevices.GpuKernelsCpu);

        Compare.AssertClose(gpu, cpu, $"conv2d.bias_backward.groups_vs_cpu.c{chunks}", Tolerance.Reduction);
        Assert.That(again, Is.EqualTo(gpu), "run to run");

        float[] Run(Cct.Gpu.Runtime.ComputeDevice device)
        {
            using var dyb = device.Upload(dy);
            using var db = device.Upload(start);
            var conv = Conv2d.For(device);
            if (chunks > 0)
            {
                conv.BackwardBias(db.View, dyb.View, s, chunks);
            }
            else
            {
                conv.BackwardBias(db.View, dyb.View, s);
            }

            return db.Read();
        }
    }

    private static double[] HostChannelSums(float[] dy, Conv2dShape s)
    {
        var spatial = s.OutHeight * s.OutWidth;
        var sums = new double[s.OutChannels];
        for (var i = 0; i < dy.Length; i++)
        {
            sums[i / spatial % s.OutChannels] += dy[i];
        }

        return sums;
    }

    private static Conv2dShape ShapeOf(Fixture fixture, string c)
    {
        var d = fixture.Ints(c, "dims");
        return new Conv2dShape(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]);
    }

    private static int InputCount(Conv2dShape s) => s.Batch * s.InChannels * s.Height * s.Width;

    private static int WeightCount(Conv2dShape s) => s.OutChannels * s.InChannels * s.Kernel * s.Kernel;

    private static int OutputCount(Conv2dShape s) => s.Batch * s.OutChannels * s.OutHeight * s.OutWidth;

    private static double[] HostForward(double[] x, double[] w, Conv2dShape s)
    {
        var (ho, wo, k) = (s.OutHeight, s.OutWidth, s.Kernel);
        var y = new double[OutputCount(s)];
        for (var b = 0; b < s.Batch; b++)
        {
            for (var co = 0; co < s.OutChannels; co++)
            {
                for (var oh = 0; oh < ho; oh++)
                {
                    for (var ow = 0; ow < wo; ow++)
                    {
                        double sum = 0;
                        for (var ci = 0; ci < s.InChannels; ci++)
                        {
                            for (var kh = 0; kh < k; kh++)
                            {
                                for (var kw = 0; kw < k; kw++)
                                {
                                    var (h, c) = ((oh * s.Stride) + kh - s.Padding, (ow * s.Stride) + kw - s.Padding);
                                    if (h >= 0 && h < s.Height && c >= 0 && c < s.Width)
                                    {
                                        sum += x[((((b * s.InChannels) + ci) * s.Height) + h) * s.Width + c]
                                            * w[((((co * s.InChannels) + ci) * k) + kh) * k + kw];
                                    }
                                }
                            }
                        }

                        y[((((b * s.OutChannels) + co) * ho) + oh) * wo + ow] = sum;
                    }
                }
            }
        }

        return y;
    }
}
