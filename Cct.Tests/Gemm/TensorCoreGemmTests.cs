using Cct.Gpu.Gemm;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;
using Cct.Training.Check;

namespace Cct.Tests.Gemm;

/// <summary>
/// TensorCoreGemm (3xTF32 on CUDA tensor cores, inline PTX): its shape rule and CUDA-only loading on the CPU, and on a CUDA
/// GPU its result against MatMul's fp32 tiled GEMM on the same device, at Linear's shapes in CCT-7/3x1 at batch 128
/// (196·128 = 25,088 rows). The GPU tests are in the "Gpu" category, which the default test command excludes
/// (`--filter "TestCategory!=Gpu"`); GPU machines run them with `--filter "TestCategory=Gpu"`.
/// </summary>
public sealed class TensorCoreGemmTests
{
    private static readonly object[] Shapes =
    [
        new object[] { 196 * 128, 384, 128 },
        new object[] { 196 * 128, 768, 256 },
        new object[] { 128, 128, 16 },
    ];

    [TestCase(64, 128, 16)]
    [TestCase(129, 128, 16)]
    [TestCase(128, 192, 16)]
    [TestCase(128, 128, 24)]
    [TestCase(0, 128, 16)]
    public void RejectsShapesThatAreNotWholeTiles(int m, int n, int k)
        => Assert.That(() => TensorCoreGemm.CheckShape(m, n, k), Throws.ArgumentException.With.Message.Contain("multiples"));

    [Test]
    public void AcceptsWholeTiles() => Assert.That(() => TensorCoreGemm.CheckShape(25088, 768, 256), Throws.Nothing);

    [Test]
    public void LoadsOnlyOnCuda()
    {
        var device = TestDevices.Cpu;
        Assume.That(device.Profile.Class, Is.Not.EqualTo(DeviceClass.CudaGpu));
        Assert.That(() => TensorCoreGemm.For(device), Throws.TypeOf<NotSupportedException>());
    }

    /// <summary>
    /// c (m, n) = a (m, k) · b (n, k)ᵀ in 3xTF32 against MatMul's fp32 nt product of the same inputs (uniform in [−1, 1]), within
    /// <see cref="Tolerance.ThreeTf32Sum"/> of k terms (its reasoning: 3xTF32's ~7e-7 per product random-walks to ~1e-5, a tenth
    /// of the bound; plain TF32 would err by ~3e-3).
    /// </summary>
    [TestCaseSource(nameof(Shapes))]
    [Category("Gpu")]
    public void MatchesTheFp32GemmOnCuda(int m, int n, int k)
    {
        using var device = ComputeDevice.Create(AcceleratorKind.Cuda);
        using var a = device.Upload(KernelCases.Uniform(1, (long)m * k));
        using var b = device.Upload(KernelCases.Uniform(2, (long)n * k));
        using var bias = device.Upload(new float[n]);
        using var fp32 = device.Upload(new float[(long)m * n]);
        using var tensorCores = device.Upload(new float[(long)m * n]);

        MatMul.For(device).RunTiled(fp32.View, a.View, b.View, bias.View, new GemmShape(m, n, k, TransposeA: 0, TransposeB: 1, Accumulate: 0, HasBias: 0));
        TensorCoreGemm.For(device).Run(tensorCores.View, a.View, b.View, m, n, k);

        Compare.AssertClose(tensorCores.Read(), fp32.Read(), $"tensorcore.3xtf32.{m}x{n}x{k}", Tolerance.ThreeTf32Sum(k));
    }
}
