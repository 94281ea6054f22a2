using System.Reflection;
using Cct.Gpu.Runtime;
using ILGPU.Runtime.Cuda;

namespace Cct.Tests.Kernels;

/// <summary>
/// What a GPU would run, checked with no GPU: every kernel Cct.Gpu loads (found in its IL by
/// <see cref="KernelCatalog"/>) compiles to PTX for sm_80 and sm_90 and to OpenCL C 2.0, with no
/// double precision in its PTX and at most 48 KiB of static shared memory (the limit a launch gets
/// without opting in to more). One named rule skips kernels: a tensor-core kernel (inline PTX, its class marked
/// <see cref="TensorCoreKernelsAttribute"/>) has no OpenCL C, and the rule is checked to skip only kernels that the
/// OpenCL backend indeed rejects, and only TensorCoreGemm's.
/// </summary>
[TestFixture]
public sealed class KernelCompileTests
{
    private const long SharedLimitBytes = 48 * 1024;
    private static readonly IReadOnlyList<MethodInfo> Kernels = KernelCatalog.All();
    private KernelCompiler compiler = null!;

    public static IEnumerable<TestCaseData> Cases()
        => Kernels.Select(k => new TestCaseData(k).SetArgDisplayNames(KernelCatalog.NameOf(k)));

    // Every kernel but the tensor-core ones, whose inline PTX only the CUDA backend compiles.
    public static IEnumerable<TestCaseData> OpenClCases()
        => Kernels.Where(k => !KernelCatalog.IsTensorCore(k)).Select(k => new TestCaseData(k).SetArgDisplayNames(KernelCatalog.NameOf(k)));

    public static IEnumerable<TestCaseData> TensorCoreCases()
        => Kernels.Where(KernelCatalog.IsTensorCore).Select(k => new TestCaseData(k).SetArgDisplayNames(KernelCatalog.NameOf(k)));

    [OneTimeSetUp]
    public void CreateCompiler() => compiler = new KernelCompiler();

    [OneTimeTearDown]
    public void DisposeCompiler() => compiler.Dispose();

    [Test]
    public void TheCatalogFindsTheKernelsOfEveryLayer()
    {
        // A floor, not the exact count, so adding a kernel needs no edit here; the named kernels prove the
        // scan sees explicitly grouped (BlockedKernel), implicitly grouped (ForwardKernel) and the model's own loads.
        var names = Kernels.Select(KernelCatalog.NameOf).ToList();
        Assert.That(names, Has.Count.GreaterThanOrEqualTo(50));
        Assert.That(names, Has.Some.StartsWith("MatMul.BlockedKernel"));
        Assert.That(names, Has.Some.EqualTo("Relu.ForwardKernel"));
        Assert.That(names, Has.Some.StartsWith("AdamW."));
        // Tensor cores: forward with and without bias, dinput, dweight added and in partials, in 3xTF32, TF32 and bf16.
        Assert.That(names.Where(n => n.StartsWith("TensorCoreGemm.Kernel<", StringComparison.Ordinal)), Has.Exactly(15).Items);
        Assert.That(names, Is.Unique);
    }

    [TestCaseSource(nameof(Cases))]
    public void CompilesForSm80AndSm90WithoutDoublesAndWithinSharedMemory(MethodInfo kernel)
    {
        foreach (var architecture in new[] { CudaArchitecture.SM_80, CudaArchitecture.SM_90 })
        {
            var ptx = compiler.Ptx(kernel, architecture);
            Assert.That(ptx, Does.Contain(".entry"), $"{architecture}: no entry point");
            Assert.That(KernelCompiler.DoublePrecisionLines(ptx), Is.Empty, $"{architecture}: fp64 in the PTX");
            Assert.That(KernelCompiler.SharedBytes(ptx), Is.LessThanOrEqualTo(SharedLimitBytes), $"{architecture}: shared memory");
        }
    }

    [TestCaseSource(nameof(OpenClCases))]
    public void CompilesToOpenClC(MethodInfo kernel)
        => Assert.That(compiler.OpenClSource(kernel), Does.Contain("kernel void"));

    /// <summary>
    /// The OpenCL rule skips only the inline-PTX kernels: TensorCoreGemm's fifteen and TensorCoreFlashAttention's ten, the
    /// classes marked as tensor-core kernels.
    /// </summary>
    [Test]
    public void OnlyTheTensorCoreKernelsAreSkippedForOpenCl()
        => Assert.That(
            Kernels.Where(KernelCatalog.IsTensorCore).GroupBy(k => k.DeclaringType!.Name).Select(g => (g.Key, g.Count())).OrderBy(g => g.Key),
            Is.EqualTo(new[] { ("TensorCoreFlashAttention", 10), ("TensorCoreGemm", 15) }));

    /// <summary>
    /// The PTX report lets spills pass only in the OpenCL-CPU kernel set (<c>[RegisterTileKernels]</c>), which CUDA never
    /// launches: the mark stays on exactly the three classes the <c>RegisterTiles</c> family uses, so it cannot hide a
    /// CUDA kernel's spill.
    /// </summary>
    [Test]
    public void OnlyTheOpenClCpuKernelSetIsExemptFromTheSpillRule()
        => Assert.That(
            Kernels.Where(KernelCatalog.IsRegisterTile).Select(k => k.DeclaringType!.Name).Distinct().Order(StringComparer.Ordinal),
            Is.EqualTo(new[] { "HeadMajorAttention", "RegisterTileGemm", "UnfoldedConvolution" }));

    /// <summary>
    /// What the PTX report (tools/ptx-report.sh, with ptxas) holds a tensor-core kernel to, in the part that needs no
    /// ptxas: its PTX has mma.sync and no <c>.local</c> (ILGPU puts by-reference asm operands there).
    /// </summary>
    [TestCaseSource(nameof(TensorCoreCases))]
    public void TensorCoreKernelsUseMmaWithoutLocalMemory(MethodInfo kernel)
    {
        foreach (var architecture in new[] { CudaArchitecture.SM_80, CudaArchitecture.SM_90 })
        {
            var ptx = compiler.Ptx(kernel, architecture);
            Assert.That(ptx, Does.Contain("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32").Or.Contain("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"), $"{architecture}: no TF32 or bf16 mma");
            Assert.That(ptx, Does.Not.Contain(".local"), $"{architecture}: local memory in the PTX");
        }
    }

    /// <summary>
    /// Why the rule exists, checked for each kernel it skips: the tensor cores' work is in the kernel's inline PTX, which the
    /// PTX backend keeps and the OpenCL backend silently drops (ILGPU 1.5.3 emits OpenCL C without it, no error), so the
    /// OpenCL C would compile and compute nothing.
    /// </summary>
    [TestCaseSource(nameof(TensorCoreCases))]
    public void TensorCoreKernelsLoseTheirPtxInOpenClC(MethodInfo kernel)
    {
        Assert.That(compiler.Ptx(kernel, CudaArchitecture.SM_80), Does.Contain("mma.sync"));
        Assert.That(compiler.OpenClSource(kernel), Does.Not.Contain("mma"));
    }
}
