using ILGPU;
using ILGPU.Runtime;

namespace Cct.Gpu.Runtime;

/// <summary>
/// Parameters, their gradients and AdamW's two moments, each one flat device buffer with the same
/// layout, as in llm.c. Per-tensor views are slices; zero-grad is one memset.
/// </summary>
internal sealed class ParameterSet : IDisposable
{
    public ParameterSet(ComputeDevice device, TensorLayout layout)
    {
        Layout = layout;
        Values = device.Allocate(layout.TotalLength);
        Gradients = device.Allocate(layout.TotalLength);
        FirstMoment = device.Allocate(layout.TotalLength);
        SecondMoment = device.Allocate(layout.TotalLength);
        Values.MemSetToZero();
        Gradients.MemSetToZero();
        FirstMoment.MemSetToZero();
        SecondMoment.MemSetToZero();
    }

    public TensorLayout Layout { get; }

    /// <summary>The parameters (the tensors' values, without the layout's gaps).</summary>
    public long Count => Layout.ValueCount;

    /// <summary>Values in each of the four buffers, the layout's gaps included: what a whole-buffer copy holds.</summary>
    public long Length => Layout.TotalLength;

    public MemoryBuffer1D<float, Stride1D.Dense> Values { get; }

    public MemoryBuffer1D<float, Stride1D.Dense> Gradients { get; }

    public MemoryBuffer1D<float, Stride1D.Dense> FirstMoment { get; }

    public MemoryBuffer1D<float, Stride1D.Dense> SecondMoment { get; }

    /// <summary>Device bytes of the four buffers.</summary>
    public long DeviceBytes => Values.LengthInBytes + Gradients.LengthInBytes + FirstMoment.LengthInBytes + SecondMoment.LengthInBytes;

    public ArrayView<float> Value(string name) => Slice(Values, name);

    public ArrayView<float> Gradient(string name) => Slice(Gradients, name);

    public void ZeroGradients() => Gradients.MemSetToZero();

    /// <summary>Copies one tensor's values to the host.</summary>
    public float[] ReadValue(string name) => Read(Values, name);

    public float[] ReadGradient(string name) => Read(Gradients, name);

    public void WriteValue(string name, float[] data)
    {
        var slot = Layout[name];
        if (data.Length != slot.Length)
        {
            throw new ArgumentException($"'{name}' expects {slot.Length} values {slot.ShapeText}, got {data.Length}", nameof(data));
        }

        Value(name).CopyFromCPU(data);
    }

    public void Dispose()
    {
        Values.Dispose();
        Gradients.Dispose();
        FirstMoment.Dispose();
        SecondMoment.Dispose();
    }

    private ArrayView<float> Slice(MemoryBuffer1D<float, Stride1D.Dense> buffer, string name)
    {
        var slot = Layout[name];
        return buffer.View.SubView(slot.Offset, slot.Length);
    }

    private float[] Read(MemoryBuffer1D<float, Stride1D.Dense> buffer, string name)
    {
        var slot = Layout[name];
        var data = new float[slot.Length];
        Slice(buffer, name).CopyToCPU(data);
        return data;
    }
}
