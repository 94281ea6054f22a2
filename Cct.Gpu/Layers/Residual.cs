using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>Residual connection: output = input1 + input2, elementwise.</summary>
public sealed class Residual
{
    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>> forward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>> backward;

    private Residual(ComputeDevice device)
    {
        this.device = device;
        forward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>>(ForwardKernel);
        backward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>>(BackwardKernel);
    }

    public static Residual For(ComputeDevice device) => device.Kernels(static d => new Residual(d));

    /// <summary>output (count) = input1 (count) + input2 (count); output may alias either input.</summary>
    public void Forward(ArrayView<float> output, ArrayView<float> input1, ArrayView<float> input2, long count)
    {
        using var profile = device.Profile("Residual.Forward");
        if (count > 0)
        {
            var threads = device.Threads(count);
            forward(threads, threads, (int)count, output, input1, input2);
        }
    }

    /// <summary>Accumulates dinput1 (count) += doutput (count) and dinput2 (count) += doutput; doutput must alias neither.</summary>
    public void Backward(ArrayView<float> dinput1, ArrayView<float> dinput2, ArrayView<float> doutput, long count)
    {
        using var profile = device.Profile("Residual.Backward");
        if (count > 0)
        {
            var threads = device.Threads(count);
            backward(threads, threads, (int)count, dinput1, dinput2, doutput);
        }
    }

    // One item per element, grid-stride.
    private static void ForwardKernel(Index1D index, int stride, int count, ArrayView<float> output, ArrayView<float> input1, ArrayView<float> input2)
    {
        for (var i = index.X; i < count; i += stride)
        {
            if (i < output.Length)
            {
                output[i] = input1[i] + input2[i];
            }
        }
    }

    // One item per element, grid-stride.
    private static void BackwardKernel(Index1D index, int stride, int count, ArrayView<float> dinput1, ArrayView<float> dinput2, ArrayView<float> doutput)
    {
        for (var i = index.X; i < count; i += stride)
        {
            if (i < doutput.Length)
            {
                // Read once, then update in order, so dinput1 and dinput2 may be the same buffer.
                var d = doutput[i];
                dinput1[i] += d;
                dinput2[i] += d;
            }
        }
    }
}
