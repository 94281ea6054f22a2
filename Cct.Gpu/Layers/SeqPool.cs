using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// Sequence pooling of the official CCT: output = softmax_t(attention_pool(x))ᵀ · x per sample,
/// attention_pool = Linear(C, 1) with bias, so each sample's tokens are averaged with learned weights.
/// </summary>
public sealed class SeqPool
{
    private readonly Accelerator accelerator;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> logits;
    private readonly Action<Index1D, ArrayView<float>, int> softmax;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> pool;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> scoreBackward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int> softmaxBackward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> inputBackward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> parameterBackward;
    private MemoryBuffer1D<float, Stride1D.Dense>? scratch;

    private SeqPool(ComputeDevice device)
    {
        accelerator = device.Accelerator;
        logits = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(LogitsKernel);
        softmax = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int>(SoftmaxKernel);
        pool = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(PoolKernel);
        scoreBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ScoreBackwardKernel);
        softmaxBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(SoftmaxBackwardKernel);
        inputBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(InputBackwardKernel);
        parameterBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ParameterBackwardKernel);
    }

    public static SeqPool For(ComputeDevice device) => device.Kernels(static d => new SeqPool(d));

    /// <summary>
    /// output (B, C) = Σ_t weights[b, t] · input (B, T, C)[b, t, :], with weights (B, T) =
    /// softmax over t of input · poolWeight (1, C)ᵀ + poolBias (1), saved for the backward pass.
    /// </summary>
    public void Forward(ArrayView<float> output, ArrayView<float> weights, ArrayView<float> input, ArrayView<float> poolWeight, ArrayView<float> poolBias, int batch, int tokens, int channels)
    {
        if (batch <= 0 || tokens <= 0 || channels <= 0)
        {
            return;
        }

        logits(batch * tokens, weights, input, poolWeight, poolBias, channels);
        softmax(batch, weights, tokens);
        pool(batch * channels, output, weights, input, tokens, channels);
    }

    /// <summary>
    /// Accumulates dinput (B, T, C) +=, dpoolWeight (1, C) += and dpoolBias (1) += from doutput (B, C),
    /// with input (B, T, C), the saved softmax weights (B, T) and poolWeight (1, C).
    /// </summary>
    public void Backward(ArrayView<float> dinput, ArrayView<float> dpoolWeight, ArrayView<float> dpoolBias, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weights, ArrayView<float> poolWeight, int batch, int tokens, int channels)
    {
        if (batch <= 0 || tokens <= 0 || channels <= 0)
        {
            return;
        }

        // dscores (B, T): the gradient of the attention-pool logits, shared by dinput and the parameters.
        var dscores = Scratch((long)batch * tokens);
        scoreBackward(batch * tokens, dscores, doutput, input, tokens, channels);
        softmaxBackward(batch, dscores, weights, tokens);
        inputBackward((int)((long)batch * tokens * channels), dinput, doutput, weights, dscores, poolWeight, tokens, channels);
        parameterBackward(channels + 1, dpoolWeight, dpoolBias, dscores, input, batch * tokens, channels);
    }

    /// <summary>
    /// A (B, T) buffer owned by this kernel set, grown to the largest batch seen: the fixed API has no
    /// scratch argument. Kernels run in stream order, so reusing it across calls is safe, and a replaced
    /// buffer outlives the kernels already queued on it (cuMemFree waits for them, OpenCL defers the
    /// release, the CPU accelerator runs kernels synchronously).
    /// </summary>
    private ArrayView<float> Scratch(long length)
    {
        if (scratch is null || scratch.Length < length)
        {
            scratch?.Dispose();
            scratch = accelerator.Allocate1D<float>(length);
        }

        return scratch.View.SubView(0, length);
    }

    // One thread per token (b, t): weights[b, t] = x[b, t, :] · w + bias, the logit before the softmax.
    private static void LogitsKernel(Index1D i, ArrayView<float> weights, ArrayView<float> input, ArrayView<float> poolWeight, ArrayView<float> poolBias, int channels)
    {
        if (i >= weights.Length)
        {
            return;
        }

        var row = (long)i.X * channels;
        var sum = poolBias[0];
        for (var c = 0; c < channels; c++)
        {
            sum += input[row + c] * poolWeight[c];
        }

        weights[i] = sum;
    }

    // One thread per sample: a numerically stable softmax over its tokens, in place.
    private static void SoftmaxKernel(Index1D b, ArrayView<float> weights, int tokens)
    {
        var row = (long)b.X * tokens;
        if (row + tokens > weights.Length)
        {
            return;
        }

        var max = weights[row];
        for (var t = 1; t < tokens; t++)
        {
            max = XMath.Max(max, weights[row + t]);
        }

        var sum = 0f;
        for (var t = 0; t < tokens; t++)
        {
            var e = XMath.Exp(weights[row + t] - max);
            weights[row + t] = e;
            sum += e;
        }

        var inverse = 1f / sum;
        for (var t = 0; t < tokens; t++)
        {
            weights[row + t] *= inverse;
        }
    }

    // One thread per output element (b, c).
    private static void PoolKernel(Index1D i, ArrayView<float> output, ArrayView<float> weights, ArrayView<float> input, int tokens, int channels)
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
            var bt = ((long)b * tokens) + t;
            sum += weights[bt] * input[(bt * channels) + c];
        }

        output[i] = sum;
    }

    // One thread per token (b, t): dweights[b, t] = doutput[b, :] · x[b, t, :].
    private static void ScoreBackwardKernel(Index1D i, ArrayView<float> dscores, ArrayView<float> doutput, ArrayView<float> input, int tokens, int channels)
    {
        if (i >= dscores.Length)
        {
            return;
        }

        var row = (long)i.X * channels;
        var drow = (long)(i.X / tokens) * channels;
        var sum = 0f;
        for (var c = 0; c < channels; c++)
        {
            sum += doutput[drow + c] * input[row + c];
        }

        dscores[i] = sum;
    }

    // One thread per sample, in place: dlogit_t = w_t · (dweight_t − Σ_u w_u · dweight_u), the softmax Jacobian.
    private static void SoftmaxBackwardKernel(Index1D b, ArrayView<float> dscores, ArrayView<float> weights, int tokens)
    {
        var row = (long)b.X * tokens;
        if (row + tokens > dscores.Length)
        {
            return;
        }

        var dot = 0f;
        for (var t = 0; t < tokens; t++)
        {
            dot += weights[row + t] * dscores[row + t];
        }

        for (var t = 0; t < tokens; t++)
        {
            dscores[row + t] = weights[row + t] * (dscores[row + t] - dot);
        }
    }

    // One thread per input element (b, t, c): the pooling path plus the attention-pool path.
    private static void InputBackwardKernel(Index1D i, ArrayView<float> dinput, ArrayView<float> doutput, ArrayView<float> weights, ArrayView<float> dscores, ArrayView<float> poolWeight, int tokens, int channels)
    {
        if (i >= (long)dscores.Length * channels)
        {
            return;
        }

        var bt = i.X / channels;
        var c = i.X % channels;
        var b = bt / tokens;
        dinput[i] += (weights[bt] * doutput[((long)b * channels) + c]) + (dscores[bt] * poolWeight[c]);
    }

    // One thread per channel sums over all tokens (a gather, so no atomics); thread C does the bias.
    private static void ParameterBackwardKernel(Index1D c, ArrayView<float> dpoolWeight, ArrayView<float> dpoolBias, ArrayView<float> dscores, ArrayView<float> input, int rows, int channels)
    {
        if (c > channels)
        {
            return;
        }

        var sum = 0f;
        for (var r = 0; r < rows; r++)
        {
            sum += dscores[r] * (c < channels ? input[((long)r * channels) + c] : 1f);
        }

        if (c < channels)
        {
            dpoolWeight[c] += sum;
        }
        else
        {
            dpoolBias[0] += sum;
        }
    }
}
