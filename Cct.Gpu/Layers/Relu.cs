using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>Elementwise max(x, 0), as torch.nn.functional.relu.</summary>
internal sealed class Relu
{
    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>> forward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>> backward;

    private Relu(ComputeDevice device)
    {
        this.device = device;
        forward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>>(ForwardKernel);
        backward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>>(BackwardKernel);
    }

    public static Relu For(ComputeDevice device) => device.Kernels(static d => new Relu(d));

    /// <summary>output (count) = max(input (count), 0); output and input are separate buffers.</summary>
    public void Forward(ArrayView<float> output, ArrayView<float> input, long count)
    {
        using var profile = device.Time("Relu.Forward");
        var threads = device.Threads(count);
        if (threads > 0)
        {
            forward(threads, threads, checked((int)count), output, input);
        }
    }

    /// <summary>dinput (count) += doutput (count) where input (count) &gt; 0; zero inputs pass no gradient, as PyTorch.</summary>
    public void Backward(ArrayView<float> dinput, ArrayView<float> doutput, ArrayView<float> input, long count)
    {
        using var profile = device.Time("Relu.Backward");
        var threads = device.Threads(count);
        if (threads > 0)
        {
            backward(threads, threads, checked((int)count), dinput, doutput, input);
        }
    }

    // Grid-stride over elements. A comparison rather than XMath.Max so NaN inputs propagate, as PyTorch's relu does.
    private static void ForwardKernel(Index1D index, int stride, int count, ArrayView<float> output, ArrayView<float> input)
    {
        for (long i = index; i < count; i += stride)
        {
            output[i] = input[i] < 0f ? 0f : input[i];
        }
    }

    private static void BackwardKernel(Index1D index, int stride, int count, ArrayView<float> dinput, ArrayView<float> doutput, ArrayView<float> input)
    {
        for (long i = index; i < count; i += stride)
        {
            if (input[i] > 0f)
            {
                dinput[i] += doutput[i];
            }
        }
    }
}
