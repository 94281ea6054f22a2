namespace Cct.Gpu.Runtime;

/// <summary>Which ILGPU backend to run on. <see cref="Auto"/> prefers CUDA, then OpenCL, then the CPU simulator.</summary>
public enum AcceleratorKind
{
    Auto,
    Cuda,
    OpenCL,
    Cpu,
}
