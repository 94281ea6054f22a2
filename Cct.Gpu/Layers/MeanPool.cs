using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>Mean over tokens, the sequence-pooling alternative to SeqPool: output (B, C) = mean_t input (B, T, C).</summary>
public sealed class MeanPool
{
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int> forward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int> backward;

    private MeanPool(ComputeDevice device)
    {
        forward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(ForwardKernel);
        backward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(BackwardKernel);
    }

    public static MeanPool For(ComputeDevice device) => device.Kernels(static d => new MeanPool(d));

    /// <summary>output (B, C) = mean over T of input (B, T, C).</summary>
    public void Forward(ArrayView<float> output, ArrayView<float> input, int batch, int tokens, int channels)
    {
        if (batch > 0 && channels > 0)
        {
            forward(batch * channels, output, input, tokens, channels);
        }
    }

    /// <summary>Accumulates dinput (B, T, C) += doutput (B, C) / T, broadcast over tokens.</summary>
    public void Backward(ArrayView<float> dinput, ArrayView<float> doutput, int batch, int tokens, int channels)
    {
        if (batch > 0 && tokens > 0 && channels > 0)
        {
            backward((int)((long)batch * tokens * channels), dinput, doutput, tokens, channels);
        }
    }

    // One thread per output element (b, c).
    private static void ForwardKernel(Index1D i, ArrayView<float> output, ArrayView<float> input, int tokens, int channels)
    {
        if (i >= output.Length)
        {
            return;
        }

        var b = i.X / channels;
        var c = i.X % channels;
        var sum = 0f;
        for (var t = 0; t < tokens; t++)
        {
            sum += input[((((long)b * tokens) + t) * channels) + c];
        }

        output[i] = sum / tokens;
    }

    // One thread per input element (b, t, c).
    private static void BackwardKernel(Index1D i, ArrayView<float> dinput, ArrayView<float> doutput, int tokens, int channels)
    {
        if (i >= dinput.Length)
        {
            return;
        }

        var b = i.X / channels / tokens;
        var c = i.X % channels;
        dinput[i] += doutput[((long)b * channels) + c] / tokens;
    }
}
