using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>Linear layer y = x·Wᵀ + b over rows, as torch.nn.Linear (weight stored (out, in)).</summary>
public sealed class Linear
{
    private readonly ComputeDevice device;
    private readonly MatMul matMul;
    private readonly Action<Index1D, int, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> biasBackward;

    private Linear(ComputeDevice device)
    {
        this.device = device;
        matMul = MatMul.For(device);
        biasBackward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(BiasBackwardKernel);
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
        => Backward(dinput, dweight, dbias, doutput, input, weight, hasBias, rows, inFeatures, outFeatures, PartialSums.ChunksFor(device, rows, outFeatures));

    /// <summary>Backward with the bias sums split into <paramref name="chunks"/> row chunks (tests force it on the CPU).</summary>
    internal void Backward(ArrayView<float> dinput, ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weight, bool hasBias, int rows, int inFeatures, int outFeatures, int chunks)
    {
        using var profile = device.Profile("Linear.Backward");
        matMul.Run(dinput, doutput, weight, weight, new GemmShape(rows, inFeatures, outFeatures, 0, 0, 1, 0));
        matMul.Run(dweight, doutput, input, input, new GemmShape(outFeatures, inFeatures, rows, 1, 0, 1, 0));
        if (!hasBias || rows <= 0 || outFeatures <= 0)
        {
            return;
        }

        var sums = PartialSums.For(device);
        var partials = chunks > 1 ? sums.Partials((long)chunks * outFeatures) : dbias;
        var items = (long)chunks * outFeatures;
        var threads = device.Threads(items);
        biasBackward(threads, threads, checked((int)items), chunks, partials, dbias, doutput, rows, outFeatures);
        if (chunks > 1)
        {
            sums.AddInto(chunks, new PartialSum(dbias, partials, outFeatures));
        }
    }

    // One item per (row chunk, output feature), grid-stride, summing its rows of the column. With one chunk it
    // adds into dbias; otherwise it writes partials (chunks, outFeatures) for PartialSums.
    private static void BiasBackwardKernel(Index1D index, int stride, int items, int chunks, ArrayView<float> partials, ArrayView<float> dbias, ArrayView<float> doutput, int rows, int outFeatures)
    {
        var rowsPerChunk = PartialSums.RowsPerChunk(rows, chunks);
        for (long item = index; item < items; item += stride)
        {
            var o = item % outFeatures;
            var first = (int)(item / outFeatures) * rowsPerChunk;
            var end = Math.Min(rows, first + rowsPerChunk);
            var sum = 0f;
            for (var r = first; r < end; r++)
            {
                sum += doutput[((long)r * outFeatures) + o];
            }

            if (chunks == 1)
            {
                dbias[o] += sum;
            }
            else
            {
                partials[item] = sum;
            }
        }
    }
}
