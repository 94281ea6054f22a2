namespace Cct.Gpu.Runtime;

/// <summary>Which ILGPU backend to run on. <see cref="Auto"/> prefers CUDA, then OpenCL, then the CPU simulator.</summary>
public enum AcceleratorKind
{
    /// <summary>CUDA if present, else OpenCL, else the CPU.</summary>
    Auto,
    /// <summary>An NVIDIA GPU through CUDA.</summary>
    Cuda,
    /// <summary>An OpenCL 2.0 device with the generic address space.</summary>
    OpenCL,
    /// <summary>ILGPU's CPU accelerator: a thread simulator, slow but everywhere.</summary>
    Cpu,
}
