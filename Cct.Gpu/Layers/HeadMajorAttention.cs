using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Cct.Gpu.Gemm;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// <see cref="Attention"/> on <see cref="RegisterTileGemm"/> (the OpenCL-CPU profile). The heads' slices of qkv and
/// doutput are first copied into head-major buffers in the device scratch, (B·H, T, hs) or transposed (B·H, hs, T),
/// so that every product is one launch over the B·H heads with plain strides and rows that PoCL vectorises; results
/// come back the same way. The dropout mask and the score scale are those of the other paths. Each buffer a product
/// reads as op(B) has <see cref="RegisterTileGemm.Lanes"/> floats of padding after it for a partial tile's overrun.
/// Measured on 2 cores (PoCL 6, <c>Cct.Bench train --accelerator opencl</c>, forward + backward a step): cct-2/3x2
/// (head size 64) at batch 32 takes 139 ms with the item kernels and 30 ms here; cct-tiny (head size 12) at batch 64
/// takes 10–17 ms with the item kernels and 22–25 ms here, its products' 32-lane tiles mostly padding.
/// </summary>
[RegisterTileKernels]
internal sealed class HeadMajorAttention
{
    /// <summary>The smallest head size <see cref="Attention"/> sends here: one full tile row of a product with N = hs.</summary>
    public const int MinHeadSize = RegisterTileGemm.Lanes;

    private const int Overrun = RegisterTileGemm.Lanes;

    private readonly ComputeDevice device;
    private readonly RegisterTileGemm gemm;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, AttentionShape, HeadSlice> gather;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, AttentionShape, HeadSlice, int> scatter;
    private readonly Action<Index1D, int, int, ArrayView<float>, int, float> softmaxRows;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, GemmDropout> dropped;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, int, float, GemmDropout> scoreBackwardRows;

    private HeadMajorAttention(ComputeDevice device)
    {
        this.device = device;
        gemm = RegisterTileGemm.For(device);
        var a = device.Accelerator;
        gather = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, AttentionShape, HeadSlice>(GatherKernel);
        scatter = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, AttentionShape, HeadSlice, int>(ScatterKernel);
        softmaxRows = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, int, float>(ScaledSoftmaxKernel);
        dropped = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, GemmDropout>(DroppedKernel);
        scoreBackwardRows = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, int, float, GemmDropout>(ScoreBackwardKernel);
    }

    public static HeadMajorAttention For(ComputeDevice device) => device.Kernels(static d => new HeadMajorAttention(d));

    /// <summary>output (B, T, C) = dropout(probabilities)·v; probabilities (B, H, T, T) = softmax(q·kᵀ·scale); qkv (B, T, 3C).</summary>
    public void Forward(ArrayView<float> output, ArrayView<float> probabilities, ArrayView<float> qkv, AttentionShape s, float scale, GemmDropout dropout)
    {
        var (heads, t, hs) = (s.Batch * s.Heads, s.Tokens, s.HeadSize);
        var slice = (long)heads * t * hs;
        var square = (long)heads * t * t;
        var scratch = device.Scratch((4 * (slice + Overrun)) + square);
        var q = scratch.SubView(0, slice + Overrun);                       // (B·H, T, hs)
        var keysT = scratch.SubView(slice + Overrun, slice + Overrun);     // (B·H, hs, T)
        var v = scratch.SubView(2 * (slice + Overrun), slice + Overrun);   // (B·H, T, hs)
        var mixed = scratch.SubView(3 * (slice + Overrun), slice);         // (B·H, T, hs)
        var droppedP = scratch.SubView(4 * (slice + Overrun), square);     // (B·H, T, T)
        Gather(q, qkv, s, new HeadSlice(3 * s.Channels, 0, 0));
        Gather(keysT, qkv, s, new HeadSlice(3 * s.Channels, s.Channels, 1));
        Gather(v, qkv, s, new HeadSlice(3 * s.Channels, 2 * s.Channels, 0));

        // scores (B·H, T, T) = q · kᵀ, then the scaled softmax in place.
        gemm.RunStrided(probabilities, q, keysT, q, new GemmShape(t, t, hs, 0, 0, 0, 0), new RegisterTileStrides(hs, 1, t, (long)t * hs, (long)hs * t, (long)t * t), heads);
        Items(square / t, n => softmaxRows(n, n, (int)(square / t), probabilities, t, scale));

        // mixed (B·H, T, hs) = dropout(P) · v, then into output's head columns.
        var a = Dropped(droppedP, probabilities, dropout);
        gemm.RunStrided(mixed, a, v, a, new GemmShape(t, hs, t, 0, 0, 0, 0), new RegisterTileStrides(t, 1, hs, (long)t * t, (long)t * hs, (long)t * hs), heads);
        Scatter(output, mixed, s, new HeadSlice(s.Channels, 0, 0), parts: 1);
    }

    /// <summary>
    /// Accumulates dqkv (B, T, 3C) from doutput (B, T, C), qkv (B, T, 3C) and probabilities (B, H, T, T);
    /// dprobabilities (B, H, T, T) ends as the gradient of the pre-softmax scores.
    /// </summary>
    public void Backward(ArrayView<float> dqkv, ArrayView<float> dprobabilities, ArrayView<float> doutput, ArrayView<float> qkv, ArrayView<float> probabilities, AttentionShape s, float scale, GemmDropout dropout)
    {
        var (heads, t, hs) = (s.Batch * s.Heads, s.Tokens, s.HeadSize);
        var slice = (long)heads * t * hs;
        var square = (long)heads * t * t;
        var scratch = device.Scratch((7 * (slice + Overrun)) + square);
        var q = scratch.SubView(0, slice + Overrun);                           // (B·H, T, hs)
        var k = scratch.SubView(slice + Overrun, slice + Overrun);             // (B·H, T, hs)
        var valuesT = scratch.SubView(2 * (slice + Overrun), slice + Overrun); // (B·H, hs, T)
        var dy = scratch.SubView(3 * (slice + Overrun), slice + Overrun);      // (B·H, T, hs)
        var grads = scratch.SubView(4 * (slice + Overrun), 3 * slice);         // (3, B·H, T, hs): dq, dk, dv
        var droppedP = scratch.SubView(7 * (slice + Overrun), square);         // (B·H, T, T)
        Gather(q, qkv, s, new HeadSlice(3 * s.Channels, 0, 0));
        Gather(k, qkv, s, new HeadSlice(3 * s.Channels, s.Channels, 0));
        Gather(valuesT, qkv, s, new HeadSlice(3 * s.Channels, 2 * s.Channels, 1));
        Gather(dy, doutput, s, new HeadSlice(s.Channels, 0, 0));
        var (dq, dk, dv) = (grads.SubView(0, slice), grads.SubView(slice, slice), grads.SubView(2 * slice, slice));
        var perHead = new GemmShape(t, hs, t, 0, 0, 0, 0);

        // d(dropped P) (B·H, T, T) = dy · vᵀ; dv = dropout(P)ᵀ · dy.
        gemm.RunStrided(dprobabilities, dy, valuesT, dy, new GemmShape(t, t, hs, 0, 0, 0, 0), new RegisterTileStrides(hs, 1, t, (long)t * hs, (long)hs * t, (long)t * t), heads);
        var a = Dropped(droppedP, probabilities, dropout);
        gemm.RunStrided(dv, a, dy, a, perHead, new RegisterTileStrides(1, t, hs, (long)t * t, (long)t * hs, (long)t * hs), heads);

        // dS = scale · P · (dP − Σ P·dP) in place, dP = the mask applied; dq = dS · k; dk = dSᵀ · q.
        Items(square / t, n => scoreBackwardRows(n, n, (int)(square / t), dprobabilities, probabilities, t, scale, dropout));
        gemm.RunStrided(dq, dprobabilities, k, dprobabilities, perHead, new RegisterTileStrides(t, 1, hs, (long)t * t, (long)t * hs, (long)t * hs), heads);
        gemm.RunStrided(dk, dprobabilities, q, dprobabilities, perHead, new RegisterTileStrides(1, t, hs, (long)t * t, (long)t * hs, (long)t * hs), heads);
        Scatter(dqkv, grads, s, new HeadSlice(3 * s.Channels, 0, 0), parts: 3);
    }

    // P itself when nothing is dropped, else dropped (B·H, T, T) = the mask applied to P.
    private ArrayView<float> Dropped(ArrayView<float> dropped, ArrayView<float> probabilities, GemmDropout dropout)
    {
        if (dropout.Probability == 0f)
        {
            return probabilities;
        }

        Items(dropped.Length, n => this.dropped(n, n, (int)dropped.Length, dropped, probabilities, dropout));
        return dropped;
    }

    private void Gather(ArrayView<float> target, ArrayView<float> source, AttentionShape s, HeadSlice slice)
        => Items((long)s.Batch * s.Heads * s.Tokens, n => gather(n, n, s.Batch * s.Heads * s.Tokens, target, source, s, slice));

    private void Scatter(ArrayView<float> target, ArrayView<float> source, AttentionShape s, HeadSlice slice, int parts)
        => Items((long)s.Batch * s.Tokens * parts * s.Heads, n => scatter(n, n, s.Batch * s.Tokens * parts * s.Heads, target, source, s, slice, parts));

    private void Items(long count, Action<int> launch)
    {
        var threads = device.Threads(count);
        if (threads > 0)
        {
            launch(threads);
        }
    }

    // target (B·H, T, hs), or (B·H, hs, T) when transposed, = the heads of source (B, T, ·) at columns offset + h·hs.
    // One item per (b, h, t) row of hs floats, so the index arithmetic (integer divisions, which the vector units
    // lack) is paid once per row, as in UnfoldedConvolution.
    private static void GatherKernel(Index1D index, int stride, int rows, ArrayView<float> target, ArrayView<float> source, AttentionShape s, HeadSlice slice)
    {
        var hs = s.HeadSize;
        for (long item = index; item < rows; item += stride)
        {
            var row = (int)item;
            var (t, bh) = (row % s.Tokens, row / s.Tokens);
            var (h, b) = (bh % s.Heads, bh / s.Heads);
            var from = ((((long)b * s.Tokens) + t) * slice.RowStride) + slice.Offset + ((long)h * hs);
            var (at, step) = slice.Transposed != 0 ? (((long)bh * hs * s.Tokens) + t, (long)s.Tokens) : ((long)row * hs, 1L);
            for (var d = 0; d < hs; d++)
            {
                target[at + (d * step)] = source[from + d];
            }
        }
    }

    // target (B, T, ·) at columns offset + part·C + h·hs (+)= source (parts, B·H, T, hs): set for one part (the
    // output), added for three (dq, dk, dv into dqkv). One item per (b, t, part, h) row of hs floats.
    private static void ScatterKernel(Index1D index, int stride, int rows, ArrayView<float> target, ArrayView<float> source, AttentionShape s, HeadSlice slice, int parts)
    {
        var hs = s.HeadSize;
        var slab = (long)s.Batch * s.Heads * s.Tokens * hs;
        var perToken = parts * s.Heads;
        for (long item = index; item < rows; item += stride)
        {
            var row = (int)item;
            var (ph, bt) = (row % perToken, row / perToken);
            var (h, part) = (ph % s.Heads, ph / s.Heads);
            var (t, b) = (bt % s.Tokens, bt / s.Tokens);
            var from = (part * slab) + (((((long)b * s.Heads) + h) * s.Tokens + t) * hs);
            var at = ((long)bt * slice.RowStride) + slice.Offset + ((long)ph * hs);
            for (var d = 0; d < hs; d++)
            {
                target[at + d] = parts == 1 ? source[from + d] : target[at + d] + source[from + d];
            }
        }
    }

    // One work-item per row of T scores, in place: scores · scale, then a max-shifted softmax.
    private static void ScaledSoftmaxKernel(Index1D index, int stride, int rows, ArrayView<float> probabilities, int tokens, float scale)
    {
        for (long row = index; row < rows; row += stride)
        {
            var at = row * tokens;
            var max = float.NegativeInfinity;
            for (var j = 0; j < tokens; j++)
            {
                var v = probabilities[at + j] * scale;
                probabilities[at + j] = v;
                max = XMath.Max(max, v);
            }

            var sum = 0f;
            for (var j = 0; j < tokens; j++)
            {
                var e = XMath.Exp(probabilities[at + j] - max);
                probabilities[at + j] = e;
                sum += e;
            }

            for (var j = 0; j < tokens; j++)
            {
                probabilities[at + j] /= sum;
            }
        }
    }

    // dropped (B·H, T, T) = the dropout mask of element i applied to probabilities.
    private static void DroppedKernel(Index1D index, int stride, int count, ArrayView<float> dropped, ArrayView<float> probabilities, GemmDropout dropout)
    {
        for (long i = index; i < count; i += stride)
        {
            dropped[i] = dropout.Apply(i, probabilities[i]);
        }
    }

    // One work-item per row, in place: dP = the mask applied to d(dropped P), then dS = scale · P · (dP − Σ P·dP).
    private static void ScoreBackwardKernel(Index1D index, int stride, int rows, ArrayView<float> dprobabilities, ArrayView<float> probabilities, int tokens, float scale, GemmDropout dropout)
    {
        for (long row = index; row < rows; row += stride)
        {
            var at = row * tokens;
            var dot = 0f;
            for (var j = 0; j < tokens; j++)
            {
                var dp = dropout.Apply(at + j, dprobabilities[at + j]);
                dprobabilities[at + j] = dp;
                dot += probabilities[at + j] * dp;
            }

            for (var j = 0; j < tokens; j++)
            {
                dprobabilities[at + j] = scale * probabilities[at + j] * (dprobabilities[at + j] - dot);
            }
        }
    }
}
