using Cct.Gpu.Data;
using Cct.Gpu.Runtime;
using Cct.Training.Data;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Training.Training;

/// <summary>A dataset's pixels (N, H, W) as bytes and labels (N) on the device, uploaded once.</summary>
internal sealed class DeviceDataset : IDisposable
{
    public DeviceDataset(ComputeDevice device, ImageDataset data)
    {
        Data = data;
        Pixels = BatchAssembler.For(device).UploadPixels(data.Pixels);
        Labels = device.Upload(data.LabelsAsInts());
    }

    public ImageDataset Data { get; }

    public int Count => Data.Count;

    public MemoryBuffer1D<byte, Stride1D.Dense> Pixels { get; }

    public MemoryBuffer1D<int, Stride1D.Dense> Labels { get; }

    public void Dispose()
    {
        Pixels.Dispose();
        Labels.Dispose();
    }
}
