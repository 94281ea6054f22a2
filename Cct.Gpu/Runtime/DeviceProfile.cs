using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Cct.Gpu.Runtime;

/// <summary>
/// The kernel set and launch parameters of one device, chosen once when the <see cref="ComputeDevice"/> is made:
/// every layer reads it when it loads its kernels, so no layer call tests the device kind.
/// </summary>
/// <param name="Class">the kind of device</param>
/// <param name="Kernels">the kernel family the layers load</param>
/// <param name="RowLanes">threads that share one row in the row kernels (a warp on a GPU)</param>
/// <param name="RowsPerGroup">rows, each <paramref name="RowLanes"/> threads, in one group of the row kernels</param>
/// <param name="MaxItemThreads">the most threads an item kernel launches; it loops over the rest (grid stride)</param>
/// <param name="ClearsWithKernel">zero views with a kernel of ours instead of the driver's memset (OpenCL: ILGPU 1.5.3's CLMemSet bug, docs/opencl.md)</param>
internal sealed record DeviceProfile(DeviceClass Class, KernelFamily Kernels, int RowLanes, int RowsPerGroup, int MaxItemThreads, bool ClearsWithKernel)
{
    /// <summary>
    /// Whether models on the GPU kernels run attention fused (FlashAttention; <c>Attention.Fuses</c>). On by default;
    /// the bench turns it off (<c>Cct.Bench train --attention unfused</c>) to time the batched products in the same run.
    /// </summary>
    public bool FusesAttention { get; init; } = true;

    /// <summary>
    /// How models on this device compute their Linear products (<see cref="GemmPrecision"/>): fp32 unless the device was made
    /// with a tensor-core precision, which <see cref="ComputeDevice.Create(AcceleratorKind, GemmPrecision)"/> allows on CUDA only.
    /// </summary>
    public GemmPrecision Precision { get; init; } = GemmPrecision.Fp32;

    /// <summary>
    /// Whether models replay their training step and inference batch as CUDA graphs (<see cref="GraphReplay"/>; CUDA only,
    /// off unless the device was made with them). Implies <see cref="StepValuesOnDevice"/>.
    /// </summary>
    public bool ReplaysGraphs { get; init; }

    /// <summary>
    /// Whether models keep the values a step changes (its number, AdamW's coefficients) in device memory, as a replayed graph
    /// needs (<see cref="Model.DeviceStepValues"/>); tests turn it on alone on the simulator, where no graph runs.
    /// </summary>
    public bool StepValuesOnDevice { get; init; }

    /// <summary>Rows per group on GPUs: 8 warps of 32 is 256 threads, which fills an SM at 8 groups.</summary>
    private const int GpuRowsPerGroup = 8;

    /// <summary>A GPU gets a thread per item up to 2^24, which fills any GPU and keeps int loop counters from overflowing.</summary>
    private const int GpuMaxItemThreads = 1 << 24;

    /// <summary>
    /// Lanes per row on an OpenCL CPU. PoCL reports a warp (sub-group) of 4096, its largest work-group, so a warp
    /// per row launched 4096 work-items for a row of 128 (LayerNorm.Forward: 398 ms of a 2.8 s cct-2/3x2 step).
    /// PoCL's sub-group is the whole work-group, so a group of this many lanes is one row's warp.
    /// </summary>
    internal const int OpenClCpuRowLanes = 16;

    /// <summary>The profile for <paramref name="accelerator"/>, with <paramref name="kernels"/> forced when given (tests run the GPU kernels on the simulator).</summary>
    public static DeviceProfile For(Accelerator accelerator, KernelFamily? kernels = null)
    {
        var profile = accelerator switch
        {
            CudaAccelerator => Gpu(DeviceClass.CudaGpu, accelerator, clearsWithKernel: false),
            // The item kernels, one work-item per item, which PoCL vectorises across work-items, with products and
            // convolutions on register tiles (KernelFamily.RegisterTiles). Measured on 2 cores (PoCL 6, docs/opencl.md):
            // the GPU kernels' 128-wide tiles are mostly padding for cct-tiny's 8- and 24-channel convolutions (112 img/s
            // at batch 64, against 602 with the item kernels), and the register tiles took cct-2/3x2 from 36 to 87.6 img/s
            // at batch 32 (the item kernels and the GPU kernels both give 36).
            CLAccelerator cl when cl.DeviceType.HasFlag(CLDeviceType.CL_DEVICE_TYPE_CPU) => new DeviceProfile(
                DeviceClass.OpenClCpu, KernelFamily.RegisterTiles, OpenClCpuRowLanes, RowsPerGroup: 1, GpuMaxItemThreads, ClearsWithKernel: true),
            CLAccelerator => Gpu(DeviceClass.OpenClGpu, accelerator, clearsWithKernel: true),
            _ => Simulator(accelerator),
        };
        return kernels is { } forced ? profile with { Kernels = forced } : profile;
    }

    /// <summary>How many threads an item kernel launches for <paramref name="work"/> independent items.</summary>
    public int Threads(long work) => work <= 0 ? 0 : (int)Math.Min(work, MaxItemThreads);

    /// <summary>A row kernel's launch for <paramref name="rows"/> rows: <see cref="RowsPerGroup"/> rows of <see cref="RowLanes"/> lanes a group.</summary>
    public KernelConfig RowLaunch(int rows) => new((rows + RowsPerGroup - 1) / RowsPerGroup, RowLanes * RowsPerGroup);

    private static DeviceProfile Gpu(DeviceClass kind, Accelerator accelerator, bool clearsWithKernel)
    {
        var warp = accelerator.WarpSize;
        var rowsPerGroup = Math.Max(1, Math.Min(GpuRowsPerGroup, accelerator.MaxNumThreadsPerGroup / warp));
        return new DeviceProfile(kind, KernelFamily.Grouped, warp, rowsPerGroup, GpuMaxItemThreads, clearsWithKernel);
    }

    // ILGPU's CPU simulator pays ~0.2 µs per thread index (ReLU over 0.8M floats: 172 ms with a thread per element,
    // 1.9 ms with 8 threads, measured on 2 cores), so item kernels get 4 threads per core and loop.
    private static DeviceProfile Simulator(Accelerator accelerator)
    {
        var warp = accelerator.WarpSize;
        var rowsPerGroup = Math.Max(1, Math.Min(GpuRowsPerGroup, accelerator.MaxNumThreadsPerGroup / warp));
        return new DeviceProfile(DeviceClass.Simulator, KernelFamily.Items, warp, rowsPerGroup, 4 * Environment.ProcessorCount, ClearsWithKernel: false);
    }
}
