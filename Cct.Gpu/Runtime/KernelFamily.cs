namespace Cct.Gpu.Runtime;

/// <summary>Which kernels the layers load on a device.</summary>
internal enum KernelFamily
{
    /// <summary>GPU kernels: tiles in shared memory, a warp per row, split sums (docs/gpu-kernels.md).</summary>
    Grouped,

    /// <summary>Barrier-free grid-stride kernels, one item per thread iteration: ILGPU's CPU simulator pays ~1000x for a barrier.</summary>
    Items,
}
