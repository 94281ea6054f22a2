using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// Inverted dropout: element i is kept iff key.Uniform(i) ≥ p and kept values are scaled by 1/(1 − p).
/// No mask is stored; backward recomputes it from the same <see cref="RngKey"/>.
/// </summary>
internal sealed class Dropout
{
    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, float, float, RngKey, int> kernel;

    private Dropout(ComputeDevice device)
    {
        this.device = device;
        kernel = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, float, float, RngKey, int>(MaskKernel);
    }

    public static Dropout For(ComputeDevice device) => device.Kernels(static d => new Dropout(d));

    /// <summary>output (count) = input (count) · mask / (1 − p); p = 0 copies.</summary>
    public void Forward(ArrayView<float> output, ArrayView<float> input, long count, float probability, RngKey key)
    {
        using var profile = device.Time("Dropout.Forward");
        Launch(output, input, count, probability, key, accumulate: false);
    }

    /// <summary>dinput (count) += doutput (count) · mask / (1 − p), with the mask of the forward call given the same key.</summary>
    public void Backward(ArrayView<float> dinput, ArrayView<float> doutput, long count, float probability, RngKey key)
    {
        using var profile = device.Time("Dropout.Backward");
        Launch(dinput, doutput, count, probability, key, accumulate: true);
    }

    internal static float Scale(float probability)
    {
        if (!(probability is >= 0f and <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "a drop probability lies in [0, 1]");
        }

        // p = 1 drops everything; the scale is then never applied.
        return probability < 1f ? 1f / (1f - probability) : 0f;
    }

    private void Launch(ArrayView<float> target, ArrayView<float> source, long count, float probability, RngKey key, bool accumulate)
    {
        var scale = Scale(probability);
        if (count > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "one launch covers at most int.MaxValue elements");
        }

        var threads = device.Threads(count);
        if (threads > 0)
        {
            kernel(threads, threads, (int)count, target, source, probability, scale, key, accumulate ? 1 : 0);
        }
    }

    // Grid-stride over elements; p = 0 skips the hash so it is an exact copy (or add).
    private static void MaskKernel(Index1D index, int stride, int count, ArrayView<float> target, ArrayView<float> source, float probability, float scale, RngKey key, int accumulate)
    {
        for (long i = index; i < count; i += stride)
        {
            var value = probability <= 0f ? source[i] : key.Uniform(i) >= probability ? source[i] * scale : 0f;
            target[i] = accumulate != 0 ? target[i] + value : value;
        }
    }
}
