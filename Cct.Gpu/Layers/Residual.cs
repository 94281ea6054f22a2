using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// Residual connection: output = input + drop_path(branch), elementwise. The drop-path mask (<see cref="DropPath"/>'s,
/// per sample) is applied here rather than in a launch of its own, which saves two launches per residual and
/// training step; probability 0 is the plain sum.
/// </summary>
internal sealed class Residual
{
    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, RngKey> forward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, RngKey> backward;

    private Residual(ComputeDevice device)
    {
        this.device = device;
        forward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, RngKey>(ForwardKernel);
        backward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, RngKey>(BackwardKernel);
    }

    public static Residual For(ComputeDevice device) => device.Kernels(static d => new Residual(d));

    /// <summary>output (count) = input1 (count) + input2 (count); output may alias either input.</summary>
    public void Forward(ArrayView<float> output, ArrayView<float> input1, ArrayView<float> input2, long count)
        => Forward(output, input1, input2, 1, checked((int)count), 0f, default);

    /// <summary>
    /// output (B, perSample) = input (B, perSample) + branch (B, perSample) · mask (B) / (1 − p), the mask as
    /// <see cref="DropPath.Forward"/> draws it from <paramref name="key"/>; output may alias either input.
    /// </summary>
    public void Forward(ArrayView<float> output, ArrayView<float> input, ArrayView<float> branch, int batch, int perSample, float probability, RngKey key)
    {
        using var profile = device.Time("Residual.Forward");
        Launch(forward, output, input, branch, batch, perSample, probability, key);
    }

    /// <summary>Accumulates dinput1 (count) += doutput (count) and dinput2 (count) += doutput; doutput must alias neither.</summary>
    public void Backward(ArrayView<float> dinput1, ArrayView<float> dinput2, ArrayView<float> doutput, long count)
        => Backward(dinput1, dinput2, doutput, 1, checked((int)count), 0f, default);

    /// <summary>
    /// Accumulates dinput (B, perSample) += doutput (B, perSample) and dbranch (B, perSample) += doutput · mask (B) / (1 − p),
    /// with the forward call's mask given the same key; doutput must alias neither.
    /// </summary>
    public void Backward(ArrayView<float> dinput, ArrayView<float> dbranch, ArrayView<float> doutput, int batch, int perSample, float probability, RngKey key)
    {
        using var profile = device.Time("Residual.Backward");
        Launch(backward, dinput, dbranch, doutput, batch, perSample, probability, key);
    }

    private void Launch(Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, RngKey> kernel,
        ArrayView<float> first, ArrayView<float> second, ArrayView<float> third, int batch, int perSample, float probability, RngKey key)
    {
        var count = (long)batch * perSample;
        if (count > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), count, "one launch covers at most int.MaxValue elements");
        }

        var threads = device.Threads(count);
        if (threads > 0)
        {
            kernel(threads, threads, (int)count, first, second, third, perSample, probability, Dropout.Scale(probability), key);
        }
    }

    // One item per element, grid-stride.
    private static void ForwardKernel(Index1D index, int stride, int count, ArrayView<float> output, ArrayView<float> input, ArrayView<float> branch, int perSample, float probability, float scale, RngKey key)
    {
        for (long i = index; i < count; i += stride)
        {
            output[i] = input[i] + DropPath.Apply(i, branch[i], perSample, probability, scale, key);
        }
    }

    // One item per element, grid-stride. Read once, then update in order, so dinput and dbranch may be the same buffer.
    private static void BackwardKernel(Index1D index, int stride, int count, ArrayView<float> dinput, ArrayView<float> dbranch, ArrayView<float> doutput, int perSample, float probability, float scale, RngKey key)
    {
        for (long i = index; i < count; i += stride)
        {
            var d = doutput[i];
            dinput[i] += d;
            dbranch[i] += DropPath.Apply(i, d, perSample, probability, scale, key);
        }
    }
}
