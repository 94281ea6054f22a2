using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>Linear layer y = x·Wᵀ + b over rows, as torch.nn.Linear (weight stored (out, in)).</summary>
public sealed class Linear
{
    private readonly ComputeDevice device;
    private readonly MatMul matMul;
    private readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>, int, int> biasBackward;

    private Linear(ComputeDevice device)
    {
        this.device = device;
        matMul = MatMul.For(device);
        biasBackward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, int, int>(BiasBackwardKernel);
    }

    public static Linear For(ComputeDevice device) => device.Kernels(static d => new Linear(d));

    /// <summary>
    /// output (rows, outFeatures) = input (rows, inFeatures) · weight (outFeatures, inFeatures)ᵀ + bias (outFeatures).
    /// Pass <paramref name="hasBias"/> false to ignore <paramref name="bias"/>.
    /// </summary>
    public void Forward(ArrayView<float> output, ArrayView<float> input, ArrayView<float> weight, ArrayView<float> bias, bool hasBias, int rows, int inFeatures, int outFeatures)
    {
        using var profile = device.Profile("Linear.Forward");
        matMul.Run(output, input, weight, hasBias ? bias : weight, new GemmShape(rows, outFeatures, inFeatures, 0, 1, 0, hasBias ? 1 : 0));
    }

    /// <summary>
    /// Accumulates dinput (rows, inFeatures) += doutput · weight, dweight (outFeatures, inFeatures) += doutputᵀ · input,
    /// and, when <paramref name="hasBias"/>, dbias (outFeatures) += column sums of doutput (rows, outFeatures).
    /// </summary>
    public void Backward(ArrayView<float> dinput, ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weight, bool hasBias, int rows, int inFeatures, int outFeatures)
    {
        using var profile = device.Profile("Linear.Backward");
        matMul.Run(dinput, doutput, weight, weight, new GemmShape(rows, inFeatures, outFeatures, 0, 0, 1, 0));
        matMul.Run(dweight, doutput, input, input, new GemmShape(outFeatures, inFeatures, rows, 1, 0, 1, 0));
        var threads = hasBias ? device.Threads(outFeatures) : 0;
        if (threads > 0)
        {
            biasBackward(threads, threads, dbias, doutput, rows, outFeatures);
        }
    }

    // One item per output feature, grid-stride (ComputeDevice.Threads), sums its column over the rows.
    private static void BiasBackwardKernel(Index1D index, int stride, ArrayView<float> dbias, ArrayView<float> doutput, int rows, int outFeatures)
    {
        for (long o = index; o < outFeatures; o += stride)
        {
            var sum = 0f;
            for (var r = 0; r < rows; r++)
            {
                sum += doutput[((long)r * outFeatures) + o];
            }

            dbias[o] += sum;
        }
    }
}
