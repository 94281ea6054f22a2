using Cct.Gpu.Gemm;
using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

public sealed class LinearTests
{
    private static IEnumerable<string> Cases => Fixture.CasesOf("linear");

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchPyTorch(string @case) => Check(TestDevices.Cpu, @case, "linear");

    /// <summary>The register-blocked shared-memory GEMM is the GPU path; run it here on a CPU shaped for 16x16 groups.</summary>
    [TestCaseSource(nameof(Cases))]
    public void TiledKernelMatchesPyTorch(string @case)
    {
        Assert.That(TestDevices.TiledCpu.Accelerator.MaxNumThreadsPerGroup, Is.GreaterThanOrEqualTo(MatMul.GroupSide * MatMul.GroupSide));
        Check(TestDevices.TiledCpu, @case, "linear.tiled", forceTiled: true);
    }

    /// <summary>The GPU kernels' Linear (forward, and backward as one launch of both products and the bias sums) against PyTorch.</summary>
    [TestCaseSource(nameof(Cases))]
    public void GpuKernelsMatchPyTorch(string @case) => Check(TestDevices.GpuKernelsCpu, @case, "linear.gpu");

    /// <summary>The OpenCL-CPU profile's Linear (products on register tiles) against PyTorch.</summary>
    [TestCaseSource(nameof(Cases))]
    public void RegisterTilesMatchPyTorch(string @case) => Check(TestDevices.RegisterTilesCpu, @case, "linear.register_tiles");

    /// <summary>
    /// The GPU backward's one launch (dinput, dweight and the bias sums in groups of one grid) against its parts run
    /// alone: the blocked GEMM for each product and the CPU kernels' bias sums, equal bits, on shapes that are not
    /// multiples of the tile, with the bias in row chunks and dweight's K split. Gradients start non-zero.
    /// </summary>
    [TestCase(37, 5, 7, 1, 1, true)]
    [TestCase(150, 130, 70, 3, 1, true)]
    [TestCase(150, 130, 70, 3, 2, true)]
    [TestCase(150, 130, 70, 1, 3, false)]
    [TestCase(300, 3, 200, 5, 1, true)]
    public void GpuBackwardLaunchMatchesItsParts(int rows, int fin, int fout, int chunks, int splits, bool hasBias)
    {
        var device = TestDevices.GpuKernelsCpu;
        var (xValues, wValues, dyValues) = (GradCheck.RandomDoubles(61, rows * fin).ToFloats(), GradCheck.RandomDoubles(62, fout * fin).ToFloats(), GradCheck.RandomDoubles(63, rows * fout).ToFloats());
        var (dxStart, dwStart, dbStart) = (GradCheck.RandomDoubles(64, rows * fin).ToFloats(), GradCheck.RandomDoubles(65, fout * fin).ToFloats(), GradCheck.RandomDoubles(66, fout).ToFloats());
        using var x = device.Upload(xValues);
        using var w = device.Upload(wValues);
        using var dy = device.Upload(dyValues);
        using var dx = device.Upload(dxStart);
        using var dw = device.Upload(dwStart);
        using var db = device.Upload(dbStart);
        Linear.For(device).Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dy.View, x.View, w.View, hasBias, rows, fin, fout, chunks, splits);

        using var dxAlone = device.Upload(dxStart);
        using var dwAlone = device.Upload(dwStart);
        var matMul = MatMul.For(device);
        matMul.RunTiled(dxAlone.View, dy.View, w.View, w.View, new GemmShape(rows, fin, fout, 0, 0, 1, 0));
        matMul.RunTiled(dwAlone.View, dy.View, x.View, x.View, new GemmShape(fout, fin, rows, 1, 0, 1, 0), splits);
        var cpu = TestDevices.Cpu;
        using var cpuX = cpu.Upload(xValues);
        using var cpuW = cpu.Upload(wValues);
        using var cpuDy = cpu.Upload(dyValues);
        using var cpuDx = cpu.Upload(dxStart);
        using var cpuDw = cpu.Upload(dwStart);
        using var dbAlone = cpu.Upload(dbStart);
        Linear.For(cpu).Backward(cpuDx.View, new WeightAndBiasGradients(cpuDw.View, dbAlone.View), cpuDy.View, cpuX.View, cpuW.View, hasBias, rows, fin, fout, chunks);

        Assert.That(dx.Read(), Is.EqualTo(dxAlone.Read()), "dinput");
        Assert.That(dw.Read(), Is.EqualTo(dwAlone.Read()), "dweight");
        Assert.That(db.Read(), Is.EqualTo(dbAlone.Read()), "dbias");
        Compare.AssertClose(dx.Read(), cpuDx.Read(), "linear.gpu_launch.dinput");
        Compare.AssertClose(dw.Read(), cpuDw.Read(), "linear.gpu_launch.dweight");
    }

    /// <summary>
    /// Linear → GELU's forward as the GPU runs it (GELU applied in the GEMM's stores) against the GEMM then Gelu.Forward on
    /// the same device (equal bits) and against the CPU kernels (close), on shapes that are not multiples of the tile.
    /// </summary>
    [TestCase(37, 5, 7)]
    [TestCase(150, 130, 70)]
    public void ForwardGeluMatchesLinearThenGelu(int rows, int fin, int fout)
    {
        var (xValues, wValues, bValues) = (GradCheck.RandomDoubles(81, rows * fin).ToFloats(), GradCheck.RandomDoubles(82, fout * fin).ToFloats(), GradCheck.RandomDoubles(83, fout).ToFloats());
        float[][] Run(ComputeDevice device, bool fused)
        {
            using var x = device.Upload(xValues);
            using var w = device.Upload(wValues);
            using var b = device.Upload(bValues);
            using var output = device.Allocate(rows * fout);
            using var activated = device.Allocate(rows * fout);
            var linear = Linear.For(device);
            if (fused)
            {
                linear.ForwardGelu(output.View, activated.View, x.View, new WeightAndBias(w.View, b.View), rows, fin, fout);
            }
            else
            {
                linear.Forward(output.View, x.View, new WeightAndBias(w.View, b.View), true, rows, fin, fout);
                Gelu.For(device).Forward(activated.View, output.View, rows * fout);
            }

            return [output.Read(), activated.Read()];
        }

        var gpu = Run(TestDevices.GpuKernelsCpu, fused: true);
        Assert.That(gpu, Is.EqualTo(Run(TestDevices.GpuKernelsCpu, fused: false)));
        var cpu = Run(TestDevices.Cpu, fused: true);
        Compare.AssertClose(gpu[0], cpu[0], "linear.forward_gelu.output");
        Compare.AssertClose(gpu[1], cpu[1], "linear.forward_gelu.activated");
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        const int rows = 3, fin = 4, fout = 5;
        var x = GradCheck.RandomDoubles(1, rows * fin);
        var w = GradCheck.RandomDoubles(2, fout * fin);
        var b = GradCheck.RandomDoubles(3, fout);
        var dy = GradCheck.RandomDoubles(4, rows * fout);
        var device = TestDevices.Cpu;
        var linear = Linear.For(device);
        using var xb = device.Upload(x.ToFloats());
        using var wb = device.Upload(w.ToFloats());
        using var bb = device.Upload(b.ToFloats());
        using var dyb = device.Upload(dy.ToFloats());
        using var dx = device.Allocate(rows * fin);
        using var dw = device.Allocate(fout * fin);
        using var db = device.Allocate(fout);
        dx.MemSetToZero();
        dw.MemSetToZero();
        db.MemSetToZero();
        linear.Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dyb.View, xb.View, wb.View, true, rows, fin, fout);

        double Loss(double[] xs, double[] ws, double[] bs) => GradCheck.Dot(HostForward(xs, ws, bs, rows, fin, fout), dy);
        Compare.AssertClose(dx.Read().ToDoubles(), GradCheck.Numerical(v => Loss(v, w, b), x), "linear.fd.dx", Compare.HostReference);
        Compare.AssertClose(dw.Read().ToDoubles(), GradCheck.Numerical(v => Loss(x, v, b), w), "linear.fd.dweight", Compare.HostReference);
        Compare.AssertClose(db.Read().ToDoubles(), GradCheck.Numerical(v => Loss(x, w, v), b), "linear.fd.dbias", Compare.HostReference);
    }

    [Test]
    public void BackwardAccumulatesIntoGradients()
    {
        var device = TestDevices.Cpu;
        var fixture = Fixture.Load("linear");
        const string c = "odd";
        var (rows, fin) = (fixture.Shape(c, "x")[0], fixture.Shape(c, "x")[1]);
        var fout = fixture.Shape(c, "weight")[0];
        using var x = device.Upload(fixture.Floats(c, "x"));
        using var w = device.Upload(fixture.Floats(c, "weight"));
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var dx = device.Allocate(rows * fin);
        using var dw = device.Allocate(fout * fin);
        using var db = device.Allocate(fout);
        dx.MemSetToZero();
        dw.MemSetToZero();
        db.MemSetToZero();
        for (var i = 0; i < 2; i++)
        {
            Linear.For(device).Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dy.View, x.View, w.View, true, rows, fin, fout);
        }

        Compare.AssertClose(dw.Read(), fixture.Floats(c, "dweight").Select(v => 2 * v).ToArray(), "linear.accumulate.dweight");
        Compare.AssertClose(db.Read(), fixture.Floats(c, "dbias").Select(v => 2 * v).ToArray(), "linear.accumulate.dbias");
    }

    private static double[] HostForward(double[] x, double[] w, double[] b, int rows, int fin, int fout)
    {
        var y = new double[rows * fout];
        for (var r = 0; r < rows; r++)
        {
            for (var o = 0; o < fout; o++)
            {
                var sum = b[o];
                for (var i = 0; i < fin; i++)
                {
                    sum += x[(r * fin) + i] * w[(o * fin) + i];
                }

                y[(r * fout) + o] = sum;
            }
        }

        return y;
    }

    private static void Check(ComputeDevice device, string c, string label, bool forceTiled = false)
    {
        var fixture = Fixture.Load("linear");
        var (rows, fin) = (fixture.Shape(c, "x")[0], fixture.Shape(c, "x")[1]);
        var fout = fixture.Shape(c, "weight")[0];
        var hasBias = fixture.Ints(c, "has_bias")[0] == 1;
        using var x = device.Upload(fixture.Floats(c, "x"));
        using var w = device.Upload(fixture.Floats(c, "weight"));
        using var b = device.Upload(fixture.Floats(c, "bias"));
        using var dy = device.Upload(fixture.Floats(c, "dout"));
        using var y = device.Allocate(rows * fout);
        using var dx = device.Allocate(rows * fin);
        using var dw = device.Allocate(fout * fin);
        using var db = device.Allocate(fout);
        dx.MemSetToZero();
        dw.MemSetToZero();
        db.MemSetToZero();
        if (forceTiled)
        {
            var matMul = MatMul.For(device);
            matMul.RunTiled(y.View, x.View, w.View, b.View, new GemmShape(rows, fout, fin, 0, 1, 0, hasBias ? 1 : 0));
            matMul.RunTiled(dx.View, dy.View, w.View, w.View, new GemmShape(rows, fin, fout, 0, 0, 1, 0));
            matMul.RunTiled(dw.View, dy.View, x.View, x.View, new GemmShape(fout, fin, rows, 1, 0, 1, 0));
        }
        else
        {
            var linear = Linear.For(device);
            linear.Forward(y.View, x.View, new WeightAndBias(w.View, b.View), hasBias, rows, fin, fout);
            linear.Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dy.View, x.View, w.View, hasBias, rows, fin, fout);
            Compare.AssertClose(db.Read(), fixture.Floats(c, "dbias"), $"{label}.dbias");
        }

        Compare.AssertClose(y.Read(), fixture.Floats(c, "out"), $"{label}.out");
        Compare.AssertClose(dx.Read(), fixture.Floats(c, "dx"), $"{label}.dx");
        Compare.AssertClose(dw.Read(), fixture.Floats(c, "dweight"), $"{label}.dweight");
    }

    /// <summary>
    /// Linear → GELU's fused backward (the GELU gradient formed in the bias kernel) against Gelu.Backward then
    /// Linear.Backward: the same sums of the same values in the same order, so equal bits, with one row chunk and with 3
    /// (37 rows, not a multiple), on the CPU kernels and on the simulator running the GPU kernels. Gradients start non-zero.
    /// </summary>
    [TestCase(false, 1)]
    [TestCase(false, 3)]
    [TestCase(true, 3)]
    public void BackwardThroughGeluMatchesGeluThenLinear(bool gpuKernels, int chunks)
    {
        const int rows = 37, fin = 5, fout = 7;
        var device = gpuKernels ? TestDevices.GpuKernelsCpu : TestDevices.Cpu;
        using var x = device.Upload(GradCheck.RandomDoubles(51, rows * fin).ToFloats());
        using var w = device.Upload(GradCheck.RandomDoubles(52, fout * fin).ToFloats());
        using var pre = device.Upload(GradCheck.RandomDoubles(53, rows * fout, 3.0).ToFloats());
        using var dact = device.Upload(GradCheck.RandomDoubles(54, rows * fout).ToFloats());
        float[][] Run(bool fused)
        {
            using var dx = device.Upload(GradCheck.RandomDoubles(55, rows * fin).ToFloats());
            using var dw = device.Upload(GradCheck.RandomDoubles(56, fout * fin).ToFloats());
            using var db = device.Upload(GradCheck.RandomDoubles(57, fout).ToFloats());
            using var dpre = device.Upload(GradCheck.RandomDoubles(58, rows * fout).ToFloats());
            var linear = Linear.For(device);
            if (fused)
            {
                linear.BackwardThroughGelu(dx.View, new WeightAndBiasGradients(dw.View, db.View), dpre.View, dact.View, pre.View, x.View, w.View, rows, fin, fout, chunks);
            }
            else
            {
                Gelu.For(device).Backward(dpre.View, dact.View, pre.View, rows * fout);
                linear.Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dpre.View, x.View, w.View, true, rows, fin, fout, chunks);
            }

            return [dx.Read(), dw.Read(), db.Read(), dpre.Read()];
        }

        var (fusedResult, separate) = (Run(fused: true), Run(fused: false));
        Assert.That(fusedResult, Is.EqualTo(separate));
    }
}
