namespace Cct.Gpu.Runtime;

/// <summary>
/// Marks a class whose kernels belong to <see cref="KernelFamily.RegisterTiles"/>, the kernel set of the OpenCL-CPU
/// profile (<see cref="DeviceProfile"/>): CUDA never launches them. One rule follows from it: the PTX report
/// (tools/ptx-report.sh) lists them but does not fail on their register spills, since a work-item's 8x32 tile of
/// <see cref="Gemm.RegisterTileGemm"/> is 256 accumulators, which PoCL keeps in AVX-512 registers and ptxas, with 255
/// registers a thread, cannot (896 spill bytes at sm_90). They are still compiled to PTX and OpenCL C by the compile test,
/// run by <c>cct check</c> and held to no fp64.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
internal sealed class RegisterTileKernelsAttribute : Attribute;
