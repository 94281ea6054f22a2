using Cct.Gpu.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Gpu.Model;

/// <summary>
/// A model's <see cref="StepValues"/> in device memory, written by one single-thread launch before each step: a kernel's
/// arguments are copied when it is queued, so nothing waits for the device, where a copy from the host would (ILGPU's
/// CopyFromCPU synchronises its stream). The step's kernels, replayed or not, read them from here.
/// </summary>
internal sealed class DeviceStepValues : IDisposable
{
    private readonly MemoryBuffer1D<StepValues, Stride1D.Dense> cell;
    private readonly StepValuesWriter writer;

    public DeviceStepValues(ComputeDevice device)
    {
        cell = device.Accelerator.Allocate1D<StepValues>(1);
        writer = device.Kernels(static d => new StepValuesWriter(d));
    }

    /// <summary>values (1): the step's values.</summary>
    public ArrayView<StepValues> Values => cell.View.AsContiguous();

    /// <summary>step (1): the step number, the first field of <see cref="Values"/>, for <see cref="RngKey.StepCell"/>.</summary>
    public ArrayView<uint> Step => cell.View.AsContiguous().Cast<uint>().SubView(0, 1);

    /// <summary>Device bytes held.</summary>
    public long DeviceBytes => cell.LengthInBytes;

    /// <summary>Queues the write of <paramref name="values"/>; the step's kernels, queued after it, read them.</summary>
    public void Write(StepValues values) => writer.Write(cell.View, values);

    public void Dispose() => cell.Dispose();

    private sealed class StepValuesWriter
    {
        private readonly Action<Index1D, ArrayView<StepValues>, StepValues> write;

        public StepValuesWriter(ComputeDevice device)
            => write = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<StepValues>, StepValues>(WriteKernel);

        public void Write(ArrayView<StepValues> cell, StepValues values) => write(1, cell, values);

        private static void WriteKernel(Index1D index, ArrayView<StepValues> cell, StepValues values) => cell[index] = values;
    }
}
