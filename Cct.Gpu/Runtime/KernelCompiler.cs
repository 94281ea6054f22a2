using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Cct.Gpu.Runtime;

/// <summary>
/// Compiles kernels to PTX or OpenCL C with no device, through the same ILGPU backends a CUDA or OpenCL
/// accelerator uses, in a context configured as <see cref="ComputeDevice.Create(AcceleratorKind, ILGPU.Runtime.CPU.CPUDevice?, KernelFamily?, bool, GemmPrecision, bool, bool)"/> configures its own.
/// The compile test and tools/ptx-report.sh use it to see what a GPU would run.
/// </summary>
internal sealed partial class KernelCompiler : IDisposable
{
    private readonly Context context = Context.Create(builder => builder.EnableAlgorithms().Math(MathMode.Default));
    private readonly Dictionary<CudaArchitecture, PTXBackend> ptx = [];
    private CLBackend? openCl;

    /// <summary>PTX for <paramref name="architecture"/> (ISA 7.8, which CUDA 11.8's ptxas reads), specialised as a CUDA accelerator loads it.</summary>
    public string Ptx(MethodInfo kernel, CudaArchitecture architecture)
    {
        if (!ptx.TryGetValue(architecture, out var backend))
        {
            backend = new PTXBackend(context, new CudaCapabilityContext(architecture), architecture, CudaInstructionSet.ISA_78, null);
            ptx[architecture] = backend;
        }

        return ((PTXCompiledKernel)backend.Compile(EntryPointOf(kernel), KernelCatalog.SpecializationOf(kernel))).PTXAssembly;
    }

    /// <summary>OpenCL C 2.0 source, for a device with the generic address space (which ILGPU requires).</summary>
    public string OpenClSource(MethodInfo kernel)
    {
        openCl ??= new CLBackend(context, new CLCapabilityContext(true, true, true, true, true), CLDeviceVendor.Other, new CLCVersion(2, 0));
        return ((CLCompiledKernel)openCl.Compile(EntryPointOf(kernel), KernelSpecialization.Empty)).Source;
    }

    /// <summary>Bytes of shared memory the PTX declares (the sum of its <c>.shared</c> arrays).</summary>
    public static long SharedBytes(string ptxAssembly)
        => SharedDeclaration().Matches(ptxAssembly).Sum(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Lines of the PTX that compute or convert in double precision (any <c>.f64</c> operand type).</summary>
    public static IReadOnlyList<string> DoublePrecisionLines(string ptxAssembly)
        => ptxAssembly.Split('\n').Where(l => l.Contains(".f64", StringComparison.Ordinal)).Select(l => l.Trim()).ToList();

    public void Dispose()
    {
        foreach (var backend in ptx.Values)
        {
            backend.Dispose();
        }

        openCl?.Dispose();
        context.Dispose();
    }

    private static EntryPointDescription EntryPointOf(MethodInfo kernel)
        => KernelCatalog.IsImplicitlyGrouped(kernel)
            ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
            : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);

    [GeneratedRegex(@"\.shared\s+\.align\s+\d+\s+\.b8\s+[\w$]+\[(\d+)\]")]
    private static partial Regex SharedDeclaration();
}
