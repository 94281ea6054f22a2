namespace Cct.Gpu.Runtime;

/// <summary>
/// Marks a class whose kernels are inline PTX for CUDA's tensor cores (<see cref="ILGPU.Runtime.Cuda.CudaAsm"/>). Two rules
/// follow from it, and from nothing else: the kernels are compiled for CUDA only (ILGPU's OpenCL backend silently drops inline PTX
/// and the CPU accelerator cannot run it, so the compile test skips their OpenCL C and <c>cct check</c> has no CPU reference for them),
/// and the PTX report requires their SASS to have HMMA and no local memory (tools/ptx-report.sh).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
internal sealed class TensorCoreKernelsAttribute : Attribute;
