using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Cct.Gpu.Reductions;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// Sequence pooling of the official CCT: output = softmax_t(attention_pool(x))ᵀ · x per sample,
/// attention_pool = Linear(C, 1) with bias, so each sample's tokens are averaged with learned weights.
/// </summary>
internal sealed class SeqPool
{
    private readonly ComputeDevice device;
    private readonly Accelerator accelerator;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> logits;
    private readonly Action<Index1D, int, int, ArrayView<float>, int> softmax;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> pool;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> scoreBackward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, int> softmaxBackward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> inputBackward;
    private readonly Action<Index1D, int, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> parameterBackward;
    private MemoryBuffer1D<float, Stride1D.Dense>? scratch;

    private SeqPool(ComputeDevice device)
    {
        this.device = device;
        accelerator = device.Accelerator;
        logits = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(LogitsKernel);
        softmax = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, int>(SoftmaxKernel);
        pool = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(PoolKernel);
        scoreBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ScoreBackwardKernel);
        softmaxBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, int>(SoftmaxBackwardKernel);
        inputBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(InputBackwardKernel);
        parameterBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ParameterBackwardKernel);
    }

    public static SeqPool For(ComputeDevice device) => device.Kernels(static d => new SeqPool(d));

    /// <summary>
    /// output (B, C) = Σ_t weights[b, t] · input (B, T, C)[b, t, :], with weights (B, T) =
    /// softmax over t of input · scorer.Weight (1, C)ᵀ + scorer.Bias (1) (the attention-pool Linear), saved for the backward pass.
    /// </summary>
    public void Forward(ArrayView<float> output, ArrayView<float> weights, ArrayView<float> input, WeightAndBias scorer, int batch, int tokens, int channels)
    {
        var (poolWeight, poolBias) = (scorer.Weight, scorer.Bias);
        using var profile = device.Time("SeqPool.Forward");
        if (batch <= 0 || tokens <= 0 || channels <= 0)
        {
            return;
        }

        var tokenCount = batch * tokens;
        var tokenThreads = device.Threads(tokenCount);
        var sampleThreads = device.Threads(batch);
        var outputCount = batch * channels;
        var outputThreads = device.Threads(outputCount);
        logits(tokenThreads, tokenThreads, tokenCount, weights, input, poolWeight, poolBias, channels);
        softmax(sampleThreads, sampleThreads, batch, weights, tokens);
        pool(outputThreads, outputThreads, outputCount, output, weights, input, tokens, channels);
    }

    /// <summary>
    /// Accumulates dinput (B, T, C) += and the scorer's gradients, dweight (1, C) += and dbias (1) +=, from doutput (B, C),
    /// with input (B, T, C), the saved softmax weights (B, T) and poolWeight (1, C).
    /// </summary>
    public void Backward(ArrayView<float> dinput, WeightAndBiasGradients dscorer, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weights, ArrayView<float> poolWeight, int batch, int tokens, int channels)
    {
        var (dpoolWeight, dpoolBias) = (dscorer.Weight, dscorer.Bias);
        using var profile = device.Time("SeqPool.Backward");
        if (batch <= 0 || tokens <= 0 || channels <= 0)
        {
            return;
        }

        // dscores (B, T): the gradient of the attention-pool logits, shared by dinput and the parameters.
        var dscores = Scratch((long)batch * tokens);
        var tokenCount = batch * tokens;
        var tokenThreads = device.Threads(tokenCount);
        var sampleThreads = device.Threads(batch);
        var inputCount = (int)((long)batch * tokens * channels);
        var inputThreads = device.Threads(inputCount);
        scoreBackward(tokenThreads, tokenThreads, tokenCount, dscores, doutput, input, tokens, channels);
        softmaxBackward(sampleThreads, sampleThreads, batch, dscores, weights, tokens);
        inputBackward(inputThreads, inputThreads, inputCount, dinput, doutput, weights, dscores, poolWeight, tokens, channels);
        ParameterBackward(dpoolWeight, dpoolBias, dscores, input, tokenCount, channels, PartialSums.ChunksFor(device, tokenCount, channels + 1));
    }

    /// <summary>
    /// dpoolWeight (1, C) += Σ over rows of dscores (rows) · input (rows, C), dpoolBias (1) += Σ dscores, with the
    /// rows split into <paramref name="chunks"/> (tests force it on the CPU).
    /// </summary>
    internal void ParameterBackward(ArrayView<float> dpoolWeight, ArrayView<float> dpoolBias, ArrayView<float> dscores, ArrayView<float> input, int rows, int channels, int chunks)
    {
        // Partials: weight sums (chunks, C), then bias sums (chunks).
        var items = (long)chunks * (channels + 1);
        var sums = PartialSums.For(device);
        var partials = chunks > 1 ? sums.Partials(items) : dpoolWeight;
        var threads = device.Threads(items);
        parameterBackward(threads, threads, checked((int)items), chunks, partials, dpoolWeight, dpoolBias, dscores, input, rows, channels);
        if (chunks > 1)
        {
            sums.AddInto(chunks, new PartialSum(dpoolWeight, partials.SubView(0, (long)chunks * channels), channels), new PartialSum(dpoolBias, partials.SubView((long)chunks * channels, chunks), 1));
        }
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
            device.Reallocated();
        }

        return scratch.View.SubView(0, length);
    }

    // One item per token (b, t), grid-stride: weights[b, t] = x[b, t, :] · w + bias, the logit before the softmax.
    private static void LogitsKernel(Index1D index, int stride, int count, ArrayView<float> weights, ArrayView<float> input, ArrayView<float> poolWeight, ArrayView<float> poolBias, int channels)
    {
        for (var i = index.X; i < count; i += stride)
        {
            if (i >= weights.Length)
            {
                continue;
            }

            var row = (long)i * channels;
            var sum = poolBias[0];
            for (var c = 0; c < channels; c++)
            {
                sum += input[row + c] * poolWeight[c];
            }

            weights[i] = sum;
        }
    }

    // One item per sample, grid-stride: a numerically stable softmax over its tokens, in place.
    private static void SoftmaxKernel(Index1D index, int stride, int batch, ArrayView<float> weights, int tokens)
    {
        for (var b = index.X; b < batch; b += stride)
        {
            var row = (long)b * tokens;
            if (row + tokens > weights.Length)
            {
                continue;
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
    }

    // One item per output element (b, c), grid-stride.
    private static void PoolKernel(Index1D index, int stride, int count, ArrayView<float> output, ArrayView<float> weights, ArrayView<float> input, int tokens, int channels)
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
                var bt = ((long)b * tokens) + t;
                sum += weights[bt] * input[(bt * channels) + c];
            }

            output[i] = sum;
        }
    }

    // One item per token (b, t), grid-stride: dweights[b, t] = doutput[b, :] · x[b, t, :].
    private static void ScoreBackwardKernel(Index1D index, int stride, int count, ArrayView<float> dscores, ArrayView<float> doutput, ArrayView<float> input, int tokens, int channels)
    {
        for (var i = index.X; i < count; i += stride)
        {
            if (i >= dscores.Length)
            {
                continue;
            }

            var row = (long)i * channels;
            var drow = (long)(i / tokens) * channels;
            var sum = 0f;
            for (var c = 0; c < channels; c++)
            {
                sum += doutput[drow + c] * input[row + c];
            }

            dscores[i] = sum;
        }
    }

    // One item per sample, grid-stride, in place: dlogit_t = w_t · (dweight_t − Σ_u w_u · dweight_u), the softmax Jacobian.
    private static void SoftmaxBackwardKernel(Index1D index, int stride, int batch, ArrayView<float> dscores, ArrayView<float> weights, int tokens)
    {
        for (var b = index.X; b < batch; b += stride)
        {
            var row = (long)b * tokens;
            if (row + tokens > dscores.Length)
            {
                continue;
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
    }

    // One item per input element (b, t, c), grid-stride: the pooling path plus the attention-pool path.
    private static void InputBackwardKernel(Index1D index, int stride, int count, ArrayView<float> dinput, ArrayView<float> doutput, ArrayView<float> weights, ArrayView<float> dscores, ArrayView<float> poolWeight, int tokens, int channels)
    {
        for (var i = index.X; i < count; i += stride)
        {
            if (i >= (long)dscores.Length * channels)
            {
                continue;
            }

            var bt = i / channels;
            var c = i % channels;
            var b = bt / tokens;
            dinput[i] += (weights[bt] * doutput[((long)b * channels) + c]) + (dscores[bt] * poolWeight[c]);
        }
    }

    // One item per (row chunk, channel or bias), grid-stride, summing the chunk's tokens (a gather, so no atomics);
    // column C is the bias. With one chunk it adds into the gradients; otherwise it writes the partials.
    private static void ParameterBackwardKernel(Index1D index, int stride, int items, int chunks, ArrayView<float> partials, ArrayView<float> dpoolWeight, ArrayView<float> dpoolBias, ArrayView<float> dscores, ArrayView<float> input, int rows, int channels)
    {
        var rowsPerChunk = PartialSums.RowsPerChunk(rows, chunks);
        for (long item = index; item < items; item += stride)
        {
            var c = (int)(item % (channels + 1));
            var chunk = (int)(item / (channels + 1));
            var first = chunk * rowsPerChunk;
            var end = Math.Min(rows, first + rowsPerChunk);
            var sum = 0f;
            for (var r = first; r < end; r++)
            {
                sum += dscores[r] * (c < channels ? input[((long)r * channels) + c] : 1f);
            }

            if (chunks > 1)
            {
                partials[c < channels ? ((long)chunk * channels) + c : ((long)chunks * channels) + chunk] = sum;
            }
            else if (c < channels)
            {
                dpoolWeight[c] += sum;
            }
            else
            {
                dpoolBias[0] += sum;
            }
        }
    }
}
