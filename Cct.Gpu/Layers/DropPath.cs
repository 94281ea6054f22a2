using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// Stochastic depth per sample, as timm / official CCT drop_path: sample b is kept iff key.Uniform(b) ≥ p
/// (official CCT keeps iff floor(1 − p + U) = 1), and kept samples are scaled by 1/(1 − p).
/// No mask is stored; backward recomputes it from the same <see cref="RngKey"/>.
/// </summary>
internal sealed class DropPath
{
    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, int, float, float, RngKey, int> kernel;

    private DropPath(ComputeDevice device)
    {
        this.device = device;
        kernel = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, int, float, float, RngKey, int>(MaskKernel);
    }

    public static DropPath For(ComputeDevice device) => device.Kernels(static d => new DropPath(d));

    /// <summary>output (B, perSample) = input (B, perSample) · mask (B) / (1 − p); p = 0 copies.</summary>
    public void Forward(ArrayView<float> output, ArrayView<float> input, int batch, int perSample, float probability, RngKey key)
    {
        using var profile = device.Time("DropPath.Forward");
        Launch(output, input, batch, perSample, probability, key, accumulate: false);
    }

    /// <summary>dinput (B, perSample) += doutput (B, perSample) · mask (B) / (1 − p), with the forward call's mask given the same key.</summary>
    public void Backward(ArrayView<float> dinput, ArrayView<float> doutput, int batch, int perSample, float probability, RngKey key)
    {
        using var profile = device.Time("DropPath.Backward");
        Launch(dinput, doutput, batch, perSample, probability, key, accumulate: true);
    }

    private void Launch(ArrayView<float> target, ArrayView<float> source, int batch, int perSample, float probability, RngKey key, bool accumulate)
    {
        var scale = Dropout.Scale(probability);
        var count = (long)batch * perSample;
        if (count > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), count, "one launch covers at most int.MaxValue elements");
        }

        var threads = device.Threads(count);
        if (threads > 0)
        {
            kernel(threads, threads, (int)count, target, source, perSample, probability, scale, key, accumulate ? 1 : 0);
        }
    }

    // Grid-stride over elements, each hashing its own sample index, so no per-sample mask buffer is needed.
    private static void MaskKernel(Index1D index, int stride, int count, ArrayView<float> target, ArrayView<float> source, int perSample, float probability, float scale, RngKey key, int accumulate)
    {
        for (long i = index; i < count; i += stride)
        {
            var value = Apply(i, source[i], perSample, probability, scale, key);
            target[i] = accumulate != 0 ? target[i] + value : value;
        }
    }

    /// <summary>Element <paramref name="i"/> of a (B, perSample) tensor through the mask of its sample; p = 0 passes it unchanged.</summary>
    internal static float Apply(long i, float value, int perSample, float probability, float scale, RngKey key)
        => probability <= 0f ? value : key.Uniform((int)i / perSample) >= probability ? value * scale : 0f;
}
