using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Algorithms.ScanReduceOperations;
using ILGPU.Runtime;
using Cct.Gpu.Gemm;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// The core of the official CCT's Attention module, between its qkv and proj Linears: with qkv (B, T, 3C)
/// laid out [3][H][hs] on its last axis, output = dropout(softmax(q·kᵀ / sqrt(hs)))·v with heads concatenated.
/// GPUs run its products (two forward, four backward) as batched shared-memory GEMMs over the B·H heads (<see cref="MatMul.RunBatched"/>)
/// with one warp per row for the softmax and its gradient (the scale fused in); an OpenCL CPU runs them on register
/// tiles over head-major copies (<see cref="HeadMajorAttention"/>) when heads fill a tile row, and the item kernels
/// below that; the CPU simulator, where barriers are slow, runs
/// barrier-free gather kernels (no atomics). All draw the same dropout masks.
/// </summary>
internal sealed class Attention
{
    private readonly ComputeDevice device;
    private readonly bool fuses;
    // Each operation's one path on this device, chosen from its profile's kernel family when the set is loaded.
    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape, float, RngKey> forwardPath;
    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape, float, RngKey> backwardPath;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, AttentionShape, AttentionDivisors, float> softmax;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape, AttentionDivisors, float, RngKey> mix;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape, AttentionDivisors, float, RngKey> probabilitiesBackward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, int> softmaxBackward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape, AttentionDivisors, float, float, RngKey> qkvBackward;
    private readonly Action<KernelConfig, ArrayView<float>, int, int, float> scaledSoftmaxRows;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, float, GemmDropout> scoreBackwardRows;

    private Attention(ComputeDevice device)
    {
        this.device = device;
        var a = device.Accelerator;
        softmax = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, AttentionShape, AttentionDivisors, float>(SoftmaxKernel);
        mix = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape, AttentionDivisors, float, RngKey>(MixKernel);
        probabilitiesBackward = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape, AttentionDivisors, float, RngKey>(ProbabilitiesBackwardKernel);
        softmaxBackward = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, int>(SoftmaxBackwardKernel);
        qkvBackward = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape, AttentionDivisors, float, float, RngKey>(QkvBackwardKernel);
        scaledSoftmaxRows = a.LoadStreamKernel<ArrayView<float>, int, int, float>(ScaledSoftmaxRowsKernel);
        scoreBackwardRows = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, float, GemmDropout>(ScoreBackwardRowsKernel);
        switch (device.Profile.Kernels)
        {
            case KernelFamily.Grouped:
                (forwardPath, backwardPath) = (ForwardBatched, BackwardBatched);
                fuses = device.Profile.FusesAttention;
                break;
            case KernelFamily.RegisterTiles:
                var headMajor = HeadMajorAttention.For(device);
                forwardPath = (output, probabilities, qkv, s, p, key) =>
                {
                    if (s.HeadSize >= HeadMajorAttention.MinHeadSize)
                    {
                        headMajor.Forward(output, probabilities, qkv, s, ScoreScale(s), new GemmDropout(p, key));
                    }
                    else
                    {
                        ForwardItems(output, probabilities, qkv, s, p, key);
                    }
                };
                backwardPath = (dqkv, dprobabilities, doutput, qkv, probabilities, s, p, key) =>
                {
                    if (s.HeadSize >= HeadMajorAttention.MinHeadSize)
                    {
                        headMajor.Backward(dqkv, dprobabilities, doutput, qkv, probabilities, s, ScoreScale(s), new GemmDropout(p, key));
                    }
                    else
                    {
                        BackwardItems(dqkv, dprobabilities, doutput, qkv, probabilities, s, p, key);
                    }
                };
                break;
            default:
                (forwardPath, backwardPath) = (ForwardItems, BackwardItems);
                break;
        }
    }

    public static Attention For(ComputeDevice device) => device.Kernels(static d => new Attention(d));

    /// <summary>
    /// Whether a model on this device runs attention of <paramref name="shape"/> fused (<see cref="FlashAttention"/>,
    /// keeping a log-sum-exp per row, not the probabilities): with the GPU kernels, at head sizes FlashAttention holds.
    /// An OpenCL CPU keeps its head-major products, which ran cct-2/3x2's attention backward 4x faster there
    /// (docs/opencl.md); the simulator's groups are too small for it.
    /// </summary>
    public bool Fuses(AttentionShape shape) => fuses && FlashAttention.Supports(shape);

    /// <summary>
    /// output (B, T, C) = dropout(probabilities)·v, with probabilities (B, H, T, T) = softmax(q·kᵀ / sqrt(hs)) saved
    /// before dropout for backward; qkv (B, T, 3C). Element i of the (B, H, T, T) matrix is kept iff
    /// key.Uniform(i) ≥ <paramref name="dropoutProbability"/>, and kept ones are scaled by 1 / (1 − p).
    /// </summary>
    public void Forward(ArrayView<float> output, AttentionTensors saved, AttentionShape shape, float dropoutProbability, RngKey key)
    {
        using var profile = device.Time("Attention.Forward");
        Validate(shape, dropoutProbability);
        forwardPath(output, saved.Probabilities, saved.Qkv, shape, dropoutProbability, key);
    }

    // The item forward: softmax rows, then the mix.
    private void ForwardItems(ArrayView<float> output, ArrayView<float> probabilities, ArrayView<float> qkv, AttentionShape shape, float dropoutProbability, RngKey key)
    {
        var rows = shape.Batch * shape.Heads * shape.Tokens;
        var threads = device.Threads(rows);
        if (threads > 0)
        {
            softmax(threads, threads, rows, probabilities, qkv, shape, AttentionDivisors.Of(shape), ScoreScale(shape));
        }

        var outputs = shape.Batch * shape.Tokens * shape.Channels;
        threads = device.Threads(outputs);
        if (threads > 0)
        {
            mix(threads, threads, outputs, output, probabilities, qkv, shape, AttentionDivisors.Of(shape), dropoutProbability, key);
        }
    }

    /// <summary>
    /// Accumulates dqkv (B, T, 3C) += the gradient of output given doutput (B, T, C), from qkv (B, T, 3C) and the
    /// forward's probabilities (B, H, T, T); the dropout mask is recomputed from the same <paramref name="key"/>.
    /// dprobabilities (B, H, T, T) is scratch: overwritten, ending as the gradient of the pre-softmax scores.
    /// </summary>
    public void Backward(AttentionTensorGradients gradients, ArrayView<float> doutput, AttentionTensors saved, AttentionShape shape, float dropoutProbability, RngKey key)
    {
        using var profile = device.Time("Attention.Backward");
        Validate(shape, dropoutProbability);
        backwardPath(gradients.Qkv, gradients.Probabilities, doutput, saved.Qkv, saved.Probabilities, shape, dropoutProbability, key);
    }

    // The item backward: dP, the softmax gradient, dqkv.
    private void BackwardItems(ArrayView<float> dqkv, ArrayView<float> dprobabilities, ArrayView<float> doutput, ArrayView<float> qkv, ArrayView<float> probabilities, AttentionShape shape, float dropoutProbability, RngKey key)
    {
        var rows = shape.Batch * shape.Heads * shape.Tokens;
        var elements = rows * shape.Tokens;
        var threads = device.Threads(elements);
        if (threads > 0)
        {
            probabilitiesBackward(threads, threads, elements, dprobabilities, doutput, qkv, shape, AttentionDivisors.Of(shape), dropoutProbability, key);
        }

        threads = device.Threads(rows);
        if (threads > 0)
        {
            softmaxBackward(threads, threads, rows, dprobabilities, probabilities, shape.Tokens);
        }

        var gradients = shape.Batch * shape.Tokens * 3 * shape.Channels;
        threads = device.Threads(gradients);
        if (threads > 0)
        {
            qkvBackward(threads, threads, gradients, dqkv, dprobabilities, doutput, qkv, probabilities, shape, AttentionDivisors.Of(shape), ScoreScale(shape), dropoutProbability, key);
        }
    }

    // The GPU forward: scores, softmax, mix.
    private void ForwardBatched(ArrayView<float> output, ArrayView<float> probabilities, ArrayView<float> qkv, AttentionShape s, float dropoutProbability, RngKey key)
    {
        var (c, t, hs) = (s.Channels, s.Tokens, s.HeadSize);
        var matMul = MatMul.For(device);
        var heads = s.Batch * s.Heads;

        // scores (B, H, T, T) = q · kᵀ, per head, read in place from qkv (B, T, 3C).
        matMul.RunBatched(probabilities, qkv, qkv.SubView(c), new GemmShape(t, t, hs, 0, 1, 0, 0), QkvLayout(s, Ldc: t, cBatch: (long)s.Heads * t * t, cHead: (long)t * t), default);
        scaledSoftmaxRows(device.WarpPerRow(heads * t), probabilities, heads * t, t, ScoreScale(s));

        // output (B, T, C), head h at columns h·hs: dropout(P) · v.
        matMul.RunBatched(output, probabilities, qkv.SubView(2 * c), new GemmShape(t, hs, t, 0, 0, 0, 0), ProbabilitiesLayout(s, ldb: 3 * c, bBatch: 3L * t * c, ldc: c, cBatch: (long)t * c), new GemmDropout(dropoutProbability, key));
    }

    // The GPU backward: dP, dv, the softmax gradient, dq and dk.
    private void BackwardBatched(ArrayView<float> dqkv, ArrayView<float> dprobabilities, ArrayView<float> doutput, ArrayView<float> qkv, ArrayView<float> probabilities, AttentionShape s, float dropoutProbability, RngKey key)
    {
        var (c, t, hs) = (s.Channels, s.Tokens, s.HeadSize);
        var matMul = MatMul.For(device);
        var heads = s.Batch * s.Heads;
        var dropout = new GemmDropout(dropoutProbability, key);

        // d(dropped P) (B, H, T, T) = doutput · vᵀ.
        matMul.RunBatched(dprobabilities, doutput, qkv.SubView(2 * c), new GemmShape(t, t, hs, 0, 1, 0, 0),
            new GemmLayout(heads, s.Heads, c, 3 * c, t, (long)t * c, hs, 3L * t * c, hs, (long)s.Heads * t * t, (long)t * t), default);

        // dv += dropout(P)ᵀ · doutput.
        matMul.RunBatched(dqkv.SubView(2 * c), probabilities, doutput, new GemmShape(t, hs, t, 1, 0, 1, 0), ProbabilitiesLayout(s, ldb: c, bBatch: (long)t * c, ldc: 3 * c, cBatch: 3L * t * c), dropout);

        // dS = scale · P · (dP − Σ P·dP), with dP = the mask applied to d(dropped P); in place.
        scoreBackwardRows(device.WarpPerRow(heads * t), dprobabilities, probabilities, heads * t, t, ScoreScale(s), dropout);

        // dq += dS · k; dk += dSᵀ · q.
        matMul.RunBatched(dqkv, dprobabilities, qkv.SubView(c), new GemmShape(t, hs, t, 0, 0, 1, 0), ProbabilitiesLayout(s, ldb: 3 * c, bBatch: 3L * t * c, ldc: 3 * c, cBatch: 3L * t * c), default);
        matMul.RunBatched(dqkv.SubView(c), dprobabilities, qkv, new GemmShape(t, hs, t, 1, 0, 1, 0), ProbabilitiesLayout(s, ldb: 3 * c, bBatch: 3L * t * c, ldc: 3 * c, cBatch: 3L * t * c), default);
    }

    // A (T, T) per head from probabilities (B, H, T, T); B and C are head slices of (B, T, ·) tensors.
    internal static GemmLayout ProbabilitiesLayout(AttentionShape s, int ldb, long bBatch, int ldc, long cBatch)
        => new(s.Batch * s.Heads, s.Heads, s.Tokens, ldb, ldc, (long)s.Heads * s.Tokens * s.Tokens, (long)s.Tokens * s.Tokens, bBatch, s.HeadSize, cBatch, s.HeadSize);

    // A and B are head slices of qkv (B, T, 3C); C is per head.
    private static GemmLayout QkvLayout(AttentionShape s, int Ldc, long cBatch, long cHead)
        => new(s.Batch * s.Heads, s.Heads, 3 * s.Channels, 3 * s.Channels, Ldc, 3L * s.Tokens * s.Channels, s.HeadSize, 3L * s.Tokens * s.Channels, s.HeadSize, cBatch, cHead);

    private static void Validate(AttentionShape shape, float dropoutProbability)
    {
        if (!(dropoutProbability is >= 0f and < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(dropoutProbability), dropoutProbability, "dropout probability must lie in [0, 1)");
        }

        if (shape.Heads <= 0 || shape.Channels % shape.Heads != 0)
        {
            throw new ArgumentException($"{shape.Channels} channels do not split into {shape.Heads} heads", nameof(shape));
        }
    }

    // Rounded once on the host like PyTorch's python-float scale, rather than per thread.
    private static float ScoreScale(AttentionShape shape) => (float)(1.0 / Math.Sqrt(shape.HeadSize));

    // Kernels loop grid-stride over their items (ComputeDevice.Threads); the counter is long because
    // index + stride can pass int.MaxValue on a GPU, where stride is the item count.

    // One item per (b, h, t) row, grid-stride: scores into the row, then a max-shifted softmax in place.
    private static void SoftmaxKernel(Index1D index, int stride, int count, ArrayView<float> probabilities, ArrayView<float> qkv, AttentionShape s, AttentionDivisors by, float scale)
    {
        for (long item = index; item < count; item += stride)
        {
            var row = (int)item;
            var (bh, t) = by.Tokens.DivRem(row);
            var (b, h) = by.Heads.DivRem(bh);
            var hs = s.HeadSize;
            var qkvStride = 3L * s.Channels;
            var q = (((long)b * s.Tokens) + t) * qkvStride + ((long)h * hs);
            var baseRow = (long)row * s.Tokens;
            var max = float.NegativeInfinity;
            for (var t2 = 0; t2 < s.Tokens; t2++)
            {
                var k = (((long)b * s.Tokens) + t2) * qkvStride + s.Channels + ((long)h * hs);
                var dot = 0f;
                for (var d = 0; d < hs; d++)
                {
                    dot += qkv[q + d] * qkv[k + d];
                }

                dot *= scale;
                probabilities[baseRow + t2] = dot;
                max = XMath.Max(max, dot);
            }

            var sum = 0f;
            for (var t2 = 0; t2 < s.Tokens; t2++)
            {
                var e = XMath.Exp(probabilities[baseRow + t2] - max);
                probabilities[baseRow + t2] = e;
                sum += e;
            }

            for (var t2 = 0; t2 < s.Tokens; t2++)
            {
                probabilities[baseRow + t2] /= sum;
            }
        }
    }

    // One item per output element (b, t, c), grid-stride: the dropped-out probability row of its head times v's column c.
    private static void MixKernel(Index1D index, int stride, int count, ArrayView<float> output, ArrayView<float> probabilities, ArrayView<float> qkv, AttentionShape s, AttentionDivisors by, float p, RngKey key)
    {
        for (long item = index; item < count; item += stride)
        {
            var i = (int)item;
            var (bt, c) = by.Channels.DivRem(i);
            var (b, t) = by.Tokens.DivRem(bt);
            var baseRow = ((((long)b * s.Heads) + by.HeadSize.Divide(c)) * s.Tokens + t) * s.Tokens;
            var qkvStride = 3L * s.Channels;
            var v = ((long)b * s.Tokens * qkvStride) + (2L * s.Channels) + c;
            var sum = 0f;
            for (var t2 = 0; t2 < s.Tokens; t2++)
            {
                sum += Drop(baseRow + t2, probabilities[baseRow + t2], p, key) * qkv[v + (t2 * qkvStride)];
            }

            output[i] = sum;
        }
    }

    // One item per (b, h, t1, t2), grid-stride: d(dropped probability) = doutput row · v row, then through the mask.
    private static void ProbabilitiesBackwardKernel(Index1D index, int stride, int count, ArrayView<float> dprobabilities, ArrayView<float> doutput, ArrayView<float> qkv, AttentionShape s, AttentionDivisors by, float p, RngKey key)
    {
        for (long item = index; item < count; item += stride)
        {
            var i = (int)item;
            var (rest, t2) = by.Tokens.DivRem(i);
            var (bh, t1) = by.Tokens.DivRem(rest);
            var (b, h) = by.Heads.DivRem(bh);
            var hs = s.HeadSize;
            var dy = ((((long)b * s.Tokens) + t1) * s.Channels) + ((long)h * hs);
            var v = ((((long)b * s.Tokens) + t2) * 3L * s.Channels) + (2L * s.Channels) + ((long)h * hs);
            var sum = 0f;
            for (var d = 0; d < hs; d++)
            {
                sum += doutput[dy + d] * qkv[v + d];
            }

            dprobabilities[i] = Drop(i, sum, p, key);
        }
    }

    // One item per (b, h, t) row, grid-stride, in place: dscore = p · (dp − Σ p·dp). A row item (not one per
    // element) so the row's dot product is computed once and read before the row is overwritten.
    private static void SoftmaxBackwardKernel(Index1D index, int stride, int count, ArrayView<float> dprobabilities, ArrayView<float> probabilities, int tokens)
    {
        for (long row = index; row < count; row += stride)
        {
            var baseRow = row * tokens;
            var dot = 0f;
            for (var t2 = 0; t2 < tokens; t2++)
            {
                dot += probabilities[baseRow + t2] * dprobabilities[baseRow + t2];
            }

            for (var t2 = 0; t2 < tokens; t2++)
            {
                var j = baseRow + t2;
                dprobabilities[j] = probabilities[j] * (dprobabilities[j] - dot);
            }
        }
    }

    // One item per element (b, t, j) of dqkv, grid-stride; j's block of C says whether it is q, k or v:
    // dq = scale·Σ_t2 dS[t, t2]·k[t2], dk = scale·Σ_t1 dS[t1, t]·q[t1], dv = Σ_t1 dropped P[t1, t]·doutput[t1].
    private static void QkvBackwardKernel(Index1D index, int stride, int count, ArrayView<float> dqkv, ArrayView<float> dscores, ArrayView<float> doutput, ArrayView<float> qkv, ArrayView<float> probabilities, AttentionShape s, AttentionDivisors by, float scale, float p, RngKey key)
    {
        for (long item = index; item < count; item += stride)
        {
            var i = (int)item;
            var qkvStride = 3L * s.Channels;
            var (bt, j) = by.QkvWidth.DivRem(i);
            var (b, t) = by.Tokens.DivRem(bt);
            var (part, c) = by.Channels.DivRem(j);
            var head = ((long)b * s.Heads) + by.HeadSize.Divide(c);
            var matrix = head * s.Tokens * s.Tokens;
            var batch = (long)b * s.Tokens;
            var sum = 0f;
            if (part == 0)
            {
                var row = matrix + ((long)t * s.Tokens);
                for (var t2 = 0; t2 < s.Tokens; t2++)
                {
                    sum += dscores[row + t2] * qkv[((batch + t2) * qkvStride) + s.Channels + c];
                }

                sum *= scale;
            }
            else if (part == 1)
            {
                for (var t1 = 0; t1 < s.Tokens; t1++)
                {
                    sum += dscores[matrix + ((long)t1 * s.Tokens) + t] * qkv[((batch + t1) * qkvStride) + c];
                }

                sum *= scale;
            }
            else
            {
                for (var t1 = 0; t1 < s.Tokens; t1++)
                {
                    var e = matrix + ((long)t1 * s.Tokens) + t;
                    sum += Drop(e, probabilities[e], p, key) * doutput[((batch + t1) * s.Channels) + c];
                }
            }

            dqkv[i] += sum;
        }
    }

    // GPU: one warp per (b, h, t) row, in place: scores · scale, then a max-shifted softmax. Lane l takes the row's
    // elements l, l + warp size, ..., so each access of the warp is one contiguous run (a thread per row read 32
    // rows 784 bytes apart, one sector each); the max and sum are warp shuffles, in a fixed order.
    private static void ScaledSoftmaxRowsKernel(ArrayView<float> probabilities, int rows, int tokens, float scale)
    {
        var row = (Grid.IdxX * (Group.DimX / Warp.WarpSize)) + Warp.WarpIdx;
        if (row >= rows)
        {
            return; // the whole warp leaves together, so its reductions stay complete
        }

        var baseRow = (long)row * tokens;
        var max = float.NegativeInfinity;
        for (var j = Warp.LaneIdx; j < tokens; j += Warp.WarpSize)
        {
            var v = probabilities[baseRow + j] * scale;
            probabilities[baseRow + j] = v;
            max = XMath.Max(max, v);
        }

        max = WarpExtensions.AllReduce<float, MaxFloat>(max);
        var sum = 0f;
        for (var j = Warp.LaneIdx; j < tokens; j += Warp.WarpSize)
        {
            var e = XMath.Exp(probabilities[baseRow + j] - max);
            probabilities[baseRow + j] = e;
            sum += e;
        }

        sum = WarpExtensions.AllReduce<float, AddFloat>(sum);
        for (var j = Warp.LaneIdx; j < tokens; j += Warp.WarpSize)
        {
            probabilities[baseRow + j] /= sum;
        }
    }

    // GPU: one warp per (b, h, t) row, in place, strided as ScaledSoftmaxRowsKernel: d(dropped P) → dP through the
    // mask → dS = scale · P · (dP − Σ P·dP), the row's dot product a warp shuffle.
    private static void ScoreBackwardRowsKernel(ArrayView<float> dprobabilities, ArrayView<float> probabilities, int rows, int tokens, float scale, GemmDropout dropout)
    {
        var row = (Grid.IdxX * (Group.DimX / Warp.WarpSize)) + Warp.WarpIdx;
        if (row >= rows)
        {
            return; // the whole warp leaves together, so its reductions stay complete
        }

        var baseRow = (long)row * tokens;
        var dot = 0f;
        for (var j = Warp.LaneIdx; j < tokens; j += Warp.WarpSize)
        {
            var i = baseRow + j;
            var dp = dropout.Apply(i, dprobabilities[i]);
            dprobabilities[i] = dp;
            dot += probabilities[i] * dp;
        }

        dot = WarpExtensions.AllReduce<float, AddFloat>(dot);
        for (var j = Warp.LaneIdx; j < tokens; j += Warp.WarpSize)
        {
            var i = baseRow + j;
            dprobabilities[i] = scale * probabilities[i] * (dprobabilities[i] - dot);
        }
    }

    // Inverted dropout of attention element i, recomputable from the key alone; p = 0 skips the hash.
    private static float Drop(long i, float value, float p, RngKey key)
        => p == 0f ? value : key.Uniform(i) >= p ? value * (1f / (1f - p)) : 0f;
}
