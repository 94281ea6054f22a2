namespace Cct.Gpu.Runtime;

/// <summary>What kind of device a <see cref="DeviceProfile"/> is for.</summary>
internal enum DeviceClass
{
    /// <summary>An NVIDIA GPU through CUDA.</summary>
    CudaGpu,

    /// <summary>A GPU through OpenCL (Intel, AMD, NVIDIA's OpenCL driver).</summary>
    OpenClGpu,

    /// <summary>A CPU through an OpenCL runtime (PoCL): work-groups become vectorised loops on the cores.</summary>
    OpenClCpu,

    /// <summary>ILGPU's CPU accelerator: a thread simulator, the correctness path.</summary>
    Simulator,
}
