namespace Cct.Gpu.Runtime;

/// <summary>Which kernels the layers load on a device.</summary>
internal enum KernelFamily
{
    /// <summary>GPU kernels: tiles in shared memory, a warp per row, split sums (docs/gpu-kernels.md).</summary>
    Grouped,

    /// <summary>Barrier-free grid-stride kernels, one item per thread iteration: ILGPU's CPU simulator pays ~1000x for a barrier.</summary>
    Items,

    /// <summary>
    /// The item kernels, with products, convolutions and attention (head size 32 or more) on <see cref="Gemm.RegisterTileGemm"/>,
    /// whose register tiles an OpenCL CPU compiler vectorises (PoCL: 19–47 GFLOP/s on 2 cores against the item GEMM's 4–12).
    /// </summary>
    RegisterTiles,
}
