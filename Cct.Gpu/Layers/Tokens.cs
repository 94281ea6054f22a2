using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// NCHW feature map to a token sequence plus positional embedding, as official CCT's
/// flatten(2, 3).transpose(-2, -1) followed by x += positional_emb.
/// </summary>
internal sealed class Tokens
{
    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, TokensShape> forward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, TokensShape> inputBackward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, TokensShape> embeddingBackward;

    private Tokens(ComputeDevice device)
    {
        this.device = device;
        var a = device.Accelerator;
        forward = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, TokensShape>(ForwardKernel);
        inputBackward = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, TokensShape>(InputBackwardKernel);
        embeddingBackward = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, TokensShape>(EmbeddingBackwardKernel);
    }

    public static Tokens For(ComputeDevice device) => device.Kernels(static d => new Tokens(d));

    /// <summary>
    /// output[b, t, c] (B, T, C) = input[b, c, t] (B, C, T) + positionalEmbedding[t, c] (T, C), the embedding
    /// only when <paramref name="hasPositionalEmbedding"/> (it is not read otherwise).
    /// </summary>
    public void Forward(ArrayView<float> output, ArrayView<float> input, ArrayView<float> positionalEmbedding, bool hasPositionalEmbedding, TokensShape shape)
    {
        using var profile = device.Time("Tokens.Forward");
        if (shape.Elements > 0)
        {
            var count = Count(shape.Elements);
            var threads = device.Threads(count);
            forward(threads, threads, count, output, input, hasPositionalEmbedding ? positionalEmbedding : input, hasPositionalEmbedding ? 1 : 0, shape);
        }
    }

    /// <summary>
    /// Accumulates dinput (B, C, T) += doutput (B, T, C) transposed and, when <paramref name="positionalEmbeddingGradient"/>
    /// (a learnable embedding), dpositionalEmbedding (T, C) += doutput summed over the batch.
    /// </summary>
    public void Backward(ArrayView<float> dinput, ArrayView<float> dpositionalEmbedding, ArrayView<float> doutput, bool positionalEmbeddingGradient, TokensShape shape)
    {
        using var profile = device.Time("Tokens.Backward");
        if (shape.Elements == 0)
        {
            return;
        }

        var count = Count(shape.Elements);
        var threads = device.Threads(count);
        inputBackward(threads, threads, count, dinput, doutput, shape);
        if (positionalEmbeddingGradient)
        {
            var embeddingCount = shape.Tokens * shape.Channels;
            var embeddingThreads = device.Threads(embeddingCount);
            embeddingBackward(embeddingThreads, embeddingThreads, embeddingCount, dpositionalEmbedding, doutput, shape);
        }
    }

    /// <summary>
    /// The official CCT fixed sine embedding (tokens, dim), row-major: pe[p, i] = sin(p / 10000^(2·⌊i/2⌋/dim)) for even i, cos for odd i.
    /// </summary>
    public static float[] SineEmbedding(int tokens, int dim)
    {
        var table = new float[(long)tokens * dim];
        for (var p = 0; p < tokens; p++)
        {
            for (var i = 0; i < dim; i++)
            {
                // Official CCT rounds the angle to fp32 (a FloatTensor) before sin/cos; so do we, to stay within an ulp of it.
                double angle = (float)(p / Math.Pow(10000, 2.0 * (i / 2) / dim));
                table[((long)p * dim) + i] = (float)(i % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle));
            }
        }

        return table;
    }

    private static int Count(long elements)
        => elements <= int.MaxValue ? (int)elements : throw new ArgumentOutOfRangeException(nameof(elements), elements, "one launch covers at most int.MaxValue elements");

    // One item per output element (b, t, c), grid-stride, reading its transposed input.
    private static void ForwardKernel(Index1D index, int stride, int count, ArrayView<float> output, ArrayView<float> input, ArrayView<float> positionalEmbedding, int hasPositionalEmbedding, TokensShape s)
    {
        for (var i = index.X; i < count; i += stride)
        {
            int c = i % s.Channels;
            int t = (i / s.Channels) % s.Tokens;
            int b = i / (s.Channels * s.Tokens);
            var value = input[((((long)b * s.Channels) + c) * s.Tokens) + t];
            output[i] = hasPositionalEmbedding != 0 ? value + positionalEmbedding[((long)t * s.Channels) + c] : value;
        }
    }

    // One item per input element (b, c, t), grid-stride, gathering its transposed output gradient.
    private static void InputBackwardKernel(Index1D index, int stride, int count, ArrayView<float> dinput, ArrayView<float> doutput, TokensShape s)
    {
        for (var i = index.X; i < count; i += stride)
        {
            int t = i % s.Tokens;
            int c = (i / s.Tokens) % s.Channels;
            int b = i / (s.Channels * s.Tokens);
            dinput[i] += doutput[((((long)b * s.Tokens) + t) * s.Channels) + c];
        }
    }

    // One item per embedding element (t, c), grid-stride, summing over the batch.
    private static void EmbeddingBackwardKernel(Index1D index, int stride, int count, ArrayView<float> dpositionalEmbedding, ArrayView<float> doutput, TokensShape s)
    {
        var perSample = (long)s.Tokens * s.Channels;
        for (var i = index.X; i < count; i += stride)
        {
            var sum = 0f;
            for (var b = 0; b < s.Batch; b++)
            {
                sum += doutput[(b * perSample) + i];
            }

            dpositionalEmbedding[i] += sum;
        }
    }
}
