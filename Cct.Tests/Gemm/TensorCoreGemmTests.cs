using Cct.Gpu.Gemm;
using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;
using Cct.Training.Check;
using ILGPU.Runtime;

namespace Cct.Tests.Gemm;

/// <summary>
/// TensorCoreGemm (a Linear's three products on CUDA tensor cores in 3xTF32, TF32 or bf16, inline PTX) and the precision setting
/// that selects it. On the CPU: which devices accept a tensor-core precision, the K split of a weight gradient, and the
/// shape and alignment rule. On a CUDA GPU (category "Gpu", which the default test command excludes with
/// <c>--filter "TestCategory!=Gpu"</c>; GPU machines run <c>--filter "TestCategory=Gpu"</c>): a Linear's forward and
/// backward in each tensor-core precision against the same Linear in fp32 on the same GPU, at CCT-7/3x1's shapes at batch
/// 128 and at edge shapes. Without a GPU the kernels' PTX is run thread by thread by tools/tensorcore-emulate.py (CI).
/// </summary>
public sealed class TensorCoreGemmTests
{
    private static readonly object[] LinearShapes =
    [
        // cct-7/3x1 at batch 128: qkv (no bias) and the MLP's first Linear; edges: rows, features and K in no whole tile.
        new object[] { 196 * 128, 256, 768, false },
        new object[] { 196 * 128, 256, 512, true },
        new object[] { 200, 36, 132, true },
        new object[] { 3136, 32, 96, false },
    ];

    private static readonly GemmPrecision[] TensorCorePrecisions = [GemmPrecision.Tf32x3, GemmPrecision.Tf32, GemmPrecision.Bf16];

    [Test]
    public void TheCpuAcceleratorComputesInFp32()
    {
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu, GemmPrecision.Fp32);
        Assert.That(device.Precision, Is.EqualTo(GemmPrecision.Fp32));
    }

    [TestCaseSource(nameof(TensorCorePrecisions))]
    public void ATensorCorePrecisionOffCudaIsRefusedInOneLine(GemmPrecision precision)
    {
        var error = Assert.Throws<NotSupportedException>(() => ComputeDevice.Create(AcceleratorKind.Cpu, precision).Dispose())!;
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.StartWith($"precision {precision.ToString().ToLowerInvariant()} needs a CUDA GPU of compute capability 8.0"));
            Assert.That(error.Message, Does.Contain("computes in fp32 only"));
            Assert.That(error.Message, Does.Not.Contain('\n'));
        });
    }

    [Test]
    public void AnUndefinedPrecisionIsAnArgumentError()
        => Assert.That(() => ComputeDevice.Create(AcceleratorKind.Cpu, (GemmPrecision)7).Dispose(), Throws.TypeOf<ArgumentOutOfRangeException>());

    [Test]
    public void LoadsOnlyOnCudaInATensorCorePrecision()
        => Assert.That(() => TensorCoreGemm.For(TestDevices.Cpu), Throws.TypeOf<NotSupportedException>());

    /// <summary>
    /// The K split of a weight gradient covers K exactly once, in whole K steps of at least 256 rows, with about enough
    /// splits for its tiles to fill the GPU: qkv's 768x256 dweight at cct-7/3x1's 25,088 rows has 12 tiles for 264 group
    /// slots (132 SMs x 2), so 22 splits; the check case's 96x32 at 3,136 rows has 1 tile, and 12 splits of 272. In
    /// 3xTF32 (one group an SM, 132 slots) no chunk is longer than <see cref="TensorCoreGemm.MaxChain"/>: the same qkv
    /// dweight takes 33 chunks of 768 where 11 would have filled the GPU.
    /// </summary>
    [TestCase(768, 256, 25088, 264, int.MaxValue, 22)]
    [TestCase(96, 32, 3136, 264, int.MaxValue, 12)]
    [TestCase(96, 32, 200, 264, int.MaxValue, 1)]
    [TestCase(4096, 4096, 100000, 264, int.MaxValue, 1)]
    [TestCase(128, 128, 17, 264, int.MaxValue, 1)]
    [TestCase(768, 256, 25088, 132, TensorCoreGemm.MaxChain, 33)]
    [TestCase(96, 32, 3136, 132, TensorCoreGemm.MaxChain, 12)]
    [TestCase(4096, 4096, 100000, 132, TensorCoreGemm.MaxChain, 131)]
    [TestCase(128, 128, 2000, 2, TensorCoreGemm.MaxChain, 3)]
    public void SplitsKInWholeStepsThatCoverIt(int m, int n, int rows, int slots, int maxChunk, int expectedSplits)
    {
        var (splits, chunk) = TensorCoreGemm.SplitK(m, n, rows, slots, maxChunk);
        Assert.Multiple(() =>
        {
            Assert.That(splits, Is.EqualTo(expectedSplits));
            Assert.That(chunk % TensorCoreGemm.TileK, Is.Zero, "a chunk is whole K steps");
            Assert.That((long)splits * chunk, Is.GreaterThanOrEqualTo(rows), "the splits cover K");
            Assert.That((long)(splits - 1) * chunk, Is.LessThan(rows), "no split is empty");
            Assert.That(splits == 1 || chunk >= 256, Is.True, "no split shorter than 256 rows");
            Assert.That(chunk, Is.LessThanOrEqualTo(maxChunk), "no split longer than the cap");
        });
    }

    /// <summary>
    /// In 3xTF32 a Linear runs on the tensor cores only where its forward and dinput sums are at most
    /// <see cref="TensorCoreGemm.MaxChain"/> terms (cct-7/3x1's largest, qkv's dinput, is 768); TF32 and bf16 take any.
    /// </summary>
    [TestCase(GemmPrecision.Tf32x3, 256, 768, true)]
    [TestCase(GemmPrecision.Tf32x3, 768, 256, true)]
    [TestCase(GemmPrecision.Tf32x3, 772, 256, false)]
    [TestCase(GemmPrecision.Tf32x3, 256, 1024, false)]
    [TestCase(GemmPrecision.Tf32, 4096, 4096, true)]
    [TestCase(GemmPrecision.Bf16, 4096, 4096, true)]
    public void ThreeTf32SumsAtMostMaxChainTerms(GemmPrecision precision, int inFeatures, int outFeatures, bool fits)
        => Assert.That(TensorCoreGemm.ChainsFit(precision, inFeatures, outFeatures), Is.EqualTo(fits));

    [TestCase(32, 96, true)]
    [TestCase(36, 132, true)]
    [TestCase(17, 96, false)]
    [TestCase(32, 10, false)]
    [TestCase(0, 96, false)]
    public void FitsWhenBothFeatureCountsAreMultiplesOfFour(int inFeatures, int outFeatures, bool fits)
        => Assert.That(TensorCoreGemm.Fits(inFeatures, outFeatures), Is.EqualTo(fits));

    // On the CPU accelerator's own buffers (an OpenCL test device's NativePtr is a cl_mem handle, not an address).
    [Test]
    public void FitsOnlyViewsThatStartOn16Bytes()
    {
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        using var buffer = device.Allocate(64);
        Assert.Multiple(() =>
        {
            Assert.That(TensorCoreGemm.Fits(32, 32, buffer.View, buffer.View.SubView(4, 32)), Is.True);
            Assert.That(TensorCoreGemm.Fits(32, 32, buffer.View, buffer.View.SubView(1, 32)), Is.False);
        });
    }

    /// <summary>
    /// A Linear's output, dinput and dweight (both accumulated into random starting values, as backward accumulates) on a
    /// device in <paramref name="precision"/> against the same Linear on a device in fp32, on one CUDA GPU, within
    /// <see cref="Tolerance.Products"/> of the product's terms: 3xTF32 within fp32's bound, TF32 and bf16 within their
    /// own (<see cref="Tolerance.Tf32Sum"/>, <see cref="Tolerance.Bf16Sum"/>). dbias is not a tensor-core product and must agree to fp32's reduction bound.
    /// </summary>
    [Test]
    [Category("Gpu")]
    public void ALinearMatchesFp32OnCuda([ValueSource(nameof(TensorCorePrecisions))] GemmPrecision precision, [ValueSource(nameof(LinearShapes))] object[] shape)
    {
        var (rows, inFeatures, outFeatures, hasBias) = ((int)shape[0], (int)shape[1], (int)shape[2], (bool)shape[3]);
        var (fp32, tensorCores) = (TestDevices.Cuda(GemmPrecision.Fp32), TestDevices.Cuda(precision));
        Assume.That(TensorCoreGemm.Fits(inFeatures, outFeatures), Is.True);
        var expected = RunLinear(fp32, rows, inFeatures, outFeatures, hasBias);
        var before = TensorCoreGemm.For(tensorCores).Products;
        var actual = RunLinear(tensorCores, rows, inFeatures, outFeatures, hasBias);
        Assert.That(TensorCoreGemm.For(tensorCores).Products - before, Is.EqualTo(3), "forward, dinput and dweight on the tensor cores");
        var name = $"linear.{precision}.{rows}x{inFeatures}x{outFeatures}";
        Assert.Multiple(() =>
        {
            Compare.AssertClose(actual.Output, expected.Output, $"{name}.output", Tolerance.Products(inFeatures, precision));
            Compare.AssertClose(actual.InputGradient, expected.InputGradient, $"{name}.dinput", Tolerance.Products(outFeatures, precision));
            Compare.AssertClose(actual.WeightGradient, expected.WeightGradient, $"{name}.dweight", Tolerance.Products(rows, precision));
            Compare.AssertClose(actual.BiasGradient, expected.BiasGradient, $"{name}.dbias", Tolerance.SumOver(rows));
        });
    }

    /// <summary>Two runs of a Linear's backward in a tensor-core precision give the same bits: the K split's partials are added in a fixed order.</summary>
    [TestCaseSource(nameof(TensorCorePrecisions))]
    [Category("Gpu")]
    public void TensorCoreProductsRepeatBitForBitOnCuda(GemmPrecision precision)
    {
        var device = TestDevices.Cuda(precision);
        var first = RunLinear(device, 196 * 128, 256, 768, hasBias: false);
        var second = RunLinear(device, 196 * 128, 256, 768, hasBias: false);
        Assert.Multiple(() =>
        {
            Assert.That(second.Output, Is.EqualTo(first.Output));
            Assert.That(second.WeightGradient, Is.EqualTo(first.WeightGradient));
            Assert.That(second.InputGradient, Is.EqualTo(first.InputGradient));
        });
    }

    private static LinearResults RunLinear(ComputeDevice device, int rows, int inFeatures, int outFeatures, bool hasBias)
    {
        var linear = Linear.For(device);
        using var input = device.Upload(KernelCases.Uniform(10, (long)rows * inFeatures));
        using var weight = device.Upload(KernelCases.Uniform(11, (long)outFeatures * inFeatures, 0.3f));
        using var bias = device.Upload(KernelCases.Uniform(12, outFeatures));
        using var output = device.Upload(new float[(long)rows * outFeatures]);
        using var doutput = device.Upload(KernelCases.Uniform(13, (long)rows * outFeatures));
        using var dinput = device.Upload(KernelCases.Uniform(14, (long)rows * inFeatures));
        using var dweight = device.Upload(KernelCases.Uniform(15, (long)outFeatures * inFeatures));
        using var dbias = device.Upload(KernelCases.Uniform(16, outFeatures));
        linear.Forward(output.View, input.View, new WeightAndBias(weight.View, bias.View), hasBias, rows, inFeatures, outFeatures);
        linear.Backward(dinput.View, new WeightAndBiasGradients(dweight.View, dbias.View), doutput.View, input.View, weight.View, true, rows, inFeatures, outFeatures);
        device.Synchronize();
        return new LinearResults(output.Read(), dinput.Read(), dweight.Read(), dbias.Read());
    }

    private sealed record LinearResults(float[] Output, float[] InputGradient, float[] WeightGradient, float[] BiasGradient);
}
