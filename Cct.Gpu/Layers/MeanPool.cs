using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>Mean over tokens, the sequence-pooling alternative to SeqPool: output (B, C) = mean_t input (B, T, C).</summary>
internal sealed class MeanPool
{
    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, int, int> forward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, int, int> backward;

    private MeanPool(ComputeDevice device)
    {
        this.device = device;
        forward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, int, int>(ForwardKernel);
        backward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, int, int>(BackwardKernel);
    }

    public static MeanPool For(ComputeDevice device) => device.Kernels(static d => new MeanPool(d));

    /// <summary>output (B, C) = mean over T of input (B, T, C).</summary>
    public void Forward(ArrayView<float> output, ArrayView<float> input, int batch, int tokens, int channels)
    {
        using var profile = device.Time("MeanPool.Forward");
        if (batch > 0 && channels > 0)
        {
            var count = batch * channels;
            var threads = device.Threads(count);
            forward(threads, threads, count, output, input, tokens, channels);
        }
    }

    /// <summary>Accumulates dinput (B, T, C) += doutput (B, C) / T, broadcast over tokens.</summary>
    public void Backward(ArrayView<float> dinput, ArrayView<float> doutput, int batch, int tokens, int channels)
    {
        using var profile = device.Time("MeanPool.Backward");
        if (batch > 0 && tokens > 0 && channels > 0)
        {
            var count = (int)((long)batch * tokens * channels);
            var threads = device.Threads(count);
            backward(threads, threads, count, dinput, doutput, tokens, channels);
        }
    }

    // One item per output element (b, c), grid-stride.
    private static void ForwardKernel(Index1D index, int stride, int count, ArrayView<float> output, ArrayView<float> input, int tokens, int channels)
    {
        for (var i = index.X; i < count; i += stride)
        {
            if (i >= output.Length)
            {
                continue;
            }

            var b = i / channels;
            var c = i % channels;
            var sum = 0f;
            for (var t = 0; t < tokens; t++)
            {
                sum += input[((((long)b * tokens) + t) * channels) + c];
            }

            output[i] = sum / tokens;
        }
    }

    // One item per input element (b, t, c), grid-stride.
    private static void BackwardKernel(Index1D index, int stride, int count, ArrayView<float> dinput, ArrayView<float> doutput, int tokens, int channels)
    {
        for (var i = index.X; i < count; i += stride)
        {
            if (i >= dinput.Length)
            {
                continue;
            }

            var b = i / channels / tokens;
            var c = i % channels;
            dinput[i] += doutput[((long)b * channels) + c] / tokens;
        }
    }
}
