using Cct.Gpu.Runtime;

namespace Cct.Tests.Support;

/// <summary>One CPU-accelerator device for the whole test run: kernels compile once and are shared.</summary>
public static class TestDevices
{
    private static ComputeDevice? cpu;
    private static ComputeDevice? tiledCpu;
    private static ComputeDevice? gpuKernelsCpu;

    /// <summary>The CPU simulator in its fast default shape (barrier-free kernels).</summary>
    public static ComputeDevice Cpu => cpu ??= ComputeDevice.Create(AcceleratorKind.Cpu);

    /// <summary>A CPU simulator whose groups hold 16x16 threads, to run the tiled GPU kernels on tiny shapes.</summary>
    public static ComputeDevice TiledCpu => tiledCpu ??= ComputeDevice.Create(AcceleratorKind.Cpu, ComputeDevice.TiledCpuShape);

    /// <summary>The tiled simulator with every layer choosing its GPU kernels, to run whole models through them.</summary>
    public static ComputeDevice GpuKernelsCpu => gpuKernelsCpu ??= ComputeDevice.Create(AcceleratorKind.Cpu, ComputeDevice.TiledCpuShape, KernelFamily.Grouped);

    public static void DisposeAll()
    {
        gpuKernelsCpu?.Dispose();
        tiledCpu?.Dispose();
        cpu?.Dispose();
        ParityLog.Flush();
    }
}
