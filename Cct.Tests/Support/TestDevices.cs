using Cct.Gpu.Runtime;

namespace Cct.Tests.Support;

/// <summary>
/// The devices the tests run on, one of each for the whole run: kernels compile once and are shared. With
/// <c>CCT_TEST_ACCELERATOR=opencl</c> (or <c>cuda</c>) they are that accelerator instead, so the device-parameterised
/// layer, model and runtime tests run on it: <see cref="Cpu"/> and <see cref="TiledCpu"/> with the kernels its profile
/// chooses, <see cref="GpuKernelsCpu"/> with the GPU kernels forced (.ci/run does this for OpenCL through tools/opencl.sh).
/// </summary>
public static class TestDevices
{
    private static readonly AcceleratorKind? Override = ParseOverride(Environment.GetEnvironmentVariable("CCT_TEST_ACCELERATOR"));
    private static ComputeDevice? cpu;
    private static ComputeDevice? tiledCpu;
    private static ComputeDevice? gpuKernelsCpu;
    private static ComputeDevice? registerTilesCpu;
    private static ComputeDevice? accelerator;
    private static ComputeDevice? acceleratorGpuKernels;
    private static readonly Dictionary<GemmPrecision, ComputeDevice> CudaDevices = [];

    /// <summary>The CPU simulator in its fast default shape (barrier-free kernels).</summary>
    public static ComputeDevice Cpu => Overridden ?? (cpu ??= ComputeDevice.Create(AcceleratorKind.Cpu));

    /// <summary>A CPU simulator whose groups hold 16x16 threads, to run the tiled GPU kernels on tiny shapes.</summary>
    public static ComputeDevice TiledCpu => Overridden ?? (tiledCpu ??= ComputeDevice.Create(AcceleratorKind.Cpu, ComputeDevice.TiledCpuShape));

    /// <summary>The tiled simulator with every layer choosing its GPU kernels, to run whole models through them.</summary>
    public static ComputeDevice GpuKernelsCpu => OverriddenGpuKernels ?? (gpuKernelsCpu ??= ComputeDevice.Create(AcceleratorKind.Cpu, ComputeDevice.TiledCpuShape, KernelFamily.Grouped));

    /// <summary>
    /// The simulator with the OpenCL-CPU profile's kernel family forced (products and convolutions on register tiles),
    /// so those kernels run in every test run; with CCT_TEST_ACCELERATOR, that accelerator with its own profile.
    /// </summary>
    public static ComputeDevice RegisterTilesCpu => Overridden ?? (registerTilesCpu ??= ComputeDevice.Create(AcceleratorKind.Cpu, cpuShape: null, KernelFamily.RegisterTiles));

    /// <summary>
    /// The CUDA GPU in <paramref name="precision"/>, one device per precision for the whole run, made on first use: each
    /// device costs a context and its kernels' JIT (about 12 s for a whole model's set on an H200), and the Gpu category's
    /// fixtures, which used to make their own, made about 17 of them, more than tools/gpu-validate.sh's tests step allows.
    /// </summary>
    public static ComputeDevice Cuda(GemmPrecision precision = GemmPrecision.Fp32)
    {
        if (!CudaDevices.TryGetValue(precision, out var device))
        {
            CudaDevices[precision] = device = ComputeDevice.Create(AcceleratorKind.Cuda, precision);
        }

        return device;
    }

    /// <summary>The accelerator named by CCT_TEST_ACCELERATOR, if any.</summary>
    public static AcceleratorKind? OverrideKind => Override;

    private static ComputeDevice? Overridden => Override is { } kind ? accelerator ??= ComputeDevice.Create(kind) : null;

    private static ComputeDevice? OverriddenGpuKernels
        => Override is { } kind ? acceleratorGpuKernels ??= ComputeDevice.Create(kind, cpuShape: null, KernelFamily.Grouped) : null;

    public static void DisposeAll()
    {
        foreach (var device in CudaDevices.Values)
        {
            device.Dispose();
        }

        CudaDevices.Clear();
        acceleratorGpuKernels?.Dispose();
        accelerator?.Dispose();
        gpuKernelsCpu?.Dispose();
        registerTilesCpu?.Dispose();
        tiledCpu?.Dispose();
        cpu?.Dispose();
        ParityLog.Flush();
    }

    private static AcceleratorKind? ParseOverride(string? value) => value?.ToLowerInvariant() switch
    {
        null or "" or "cpu" => null,
        "opencl" => AcceleratorKind.OpenCL,
        "cuda" => AcceleratorKind.Cuda,
        _ => throw new InvalidOperationException($"CCT_TEST_ACCELERATOR is '{value}'; expected opencl, cuda or cpu"),
    };
}
