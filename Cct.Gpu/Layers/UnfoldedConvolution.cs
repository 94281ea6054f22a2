using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Gemm;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// <see cref="Conv2d"/> on <see cref="RegisterTileGemm"/> (the OpenCL-CPU profile): the input is unfolded (im2col) into
/// the device scratch and each pass is a dense product on it, which PoCL vectorises. With K = Cin·Kernel², P = Ho·Wo:
/// <list type="bullet">
/// <item>forward: output_z (Cout, P) = weight (Cout, K) · unfolded_z (K, P), one launch over the images;</item>
/// <item>input gradient: dunfolded_z (K, P) = weightᵀ · doutput_z (Cout, P), then folded back (col2im, a gather in a
/// fixed tap order) and added into dinput;</item>
/// <item>weight gradient: dweight (Cout, K) += doutput (Cout, B·P) · unfoldedᵀ (B·P, K), one product whose k loop
/// runs over every image and position in order, or, when Cout gives too few rows of tiles to spread over the cores,
/// one product per chunk of images added up in chunk order.</item>
/// </list>
/// Buffers a product reads as op(B) carry <see cref="RegisterTileGemm.Lanes"/> floats of padding after them, so a partial
/// tile's overrun stays inside the scratch.
/// </summary>
[RegisterTileKernels]
internal sealed class UnfoldedConvolution
{
    private const int Overrun = RegisterTileGemm.Lanes;

    private readonly ComputeDevice device;
    private readonly RegisterTileGemm gemm;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, Conv2dShape, long, long> unfold;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, Conv2dShape> channelMajor;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, Conv2dShape, FastDivisor, FastDivisor, FastDivisor, FastDivisor> fold;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, int> addChunks;

    private UnfoldedConvolution(ComputeDevice device)
    {
        this.device = device;
        gemm = RegisterTileGemm.For(device);
        unfold = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, Conv2dShape, long, long>(UnfoldKernel);
        channelMajor = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, Conv2dShape>(ChannelMajorKernel);
        fold = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, Conv2dShape, FastDivisor, FastDivisor, FastDivisor, FastDivisor>(FoldKernel);
        addChunks = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, int>(AddChunksKernel);
    }

    public static UnfoldedConvolution For(ComputeDevice device) => device.Kernels(static d => new UnfoldedConvolution(d));

    /// <summary>output (B, Cout, Ho, Wo) = input (B, Cin, H, W) ⋆ weight (Cout, Cin, K, K).</summary>
    public void Forward(ArrayView<float> output, ArrayView<float> input, ArrayView<float> weight, Conv2dShape s)
    {
        var (taps, positions, all) = Sizes(s);
        if (all == 0 || s.OutChannels == 0)
        {
            return;
        }

        var unfolded = device.Scratch((taps * all) + Overrun); // (K, B·P): image z's columns at z·P
        Unfold(unfolded, input, s, all, 1);
        var shape = new GemmShape(s.OutChannels, (int)positions, (int)taps, 0, 0, 0, 0);
        var strides = new RegisterTileStrides(taps, 1, all, 0, positions, s.OutChannels * positions);
        gemm.RunStrided(output, weight, unfolded, weight, shape, strides, s.Batch);
    }

    /// <summary>
    /// Accumulates dweight (Cout, Cin, K, K) and, when <paramref name="inputGradient"/>, dinput (B, Cin, H, W) from
    /// doutput (B, Cout, Ho, Wo), input (B, Cin, H, W) and weight (Cout, Cin, K, K).
    /// </summary>
    public void Backward(Conv2dGradients gradients, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weight, Conv2dShape s, bool inputGradient)
    {
        var (taps, positions, all) = Sizes(s);
        if (all == 0 || s.OutChannels == 0 || taps == 0)
        {
            return;
        }

        var outputs = s.OutChannels * all;
        var unfoldedLength = (taps * all) + Overrun;
        var chunks = WeightChunks(s, taps);
        var weightSize = s.OutChannels * taps;
        var scratch = device.Scratch(outputs + Overrun + unfoldedLength + (chunks > 1 ? chunks * weightSize : 0));
        var byChannel = scratch.SubView(0, outputs + Overrun); // (Cout, B·P): doutput with images side by side
        var unfolded = scratch.SubView(outputs + Overrun, unfoldedLength);
        Run(channelMajor, byChannel, doutput, s, (long)s.Batch * s.OutChannels);

        if (inputGradient)
        {
            // (K, P) per image, in the unfolded buffer before it holds the transposed input.
            var dunfolded = unfolded.SubView(0, taps * all);
            var shape = new GemmShape((int)taps, (int)positions, s.OutChannels, 1, 0, 0, 0);
            var strides = new RegisterTileStrides(1, taps, all, 0, positions, taps * positions);
            gemm.RunStrided(dunfolded, weight, byChannel, weight, shape, strides, s.Batch);
            var inputs = (long)s.Batch * s.InChannels * s.Height * s.Width;
            var foldThreads = device.Threads(inputs);
            if (foldThreads > 0)
            {
                fold(foldThreads, foldThreads, checked((int)inputs), gradients.Input, dunfolded, s, FastDivisor.Of(s.Width), FastDivisor.Of(s.Height), FastDivisor.Of(s.InChannels), FastDivisor.Of(s.Stride));
            }
        }

        Unfold(unfolded, input, s, 1, taps); // (B·P, K)
        if (chunks == 1)
        {
            var weightShape = new GemmShape(s.OutChannels, (int)taps, checked((int)all), 0, 0, 1, 0);
            gemm.RunStrided(gradients.Weight, byChannel, unfolded, weight, weightShape, new RegisterTileStrides(all, 1, taps, 0, 0, 0), 1);
            return;
        }

        // partials (chunks, Cout, K): chunk z sums over its images' positions; then added into dweight in chunk order.
        var partials = scratch.SubView(outputs + Overrun + unfoldedLength, chunks * weightSize);
        var span = all / chunks;
        var chunkShape = new GemmShape(s.OutChannels, (int)taps, checked((int)span), 0, 0, 0, 0);
        gemm.RunStrided(partials, byChannel, unfolded, weight, chunkShape, new RegisterTileStrides(all, 1, taps, span, span * taps, weightSize), chunks);
        var threads = device.Threads(weightSize);
        if (threads > 0)
        {
            addChunks(threads, threads, checked((int)weightSize), gradients.Weight, partials, chunks);
        }
    }

    // The weight gradient's product has ceil(Cout / Rows) x ceil(K / Lanes) work-items, and a launch's work-groups are
    // its rows of tiles times its products: cct-tiny's first convolution (Cout 8, K 9) is one work-item, and one core,
    // for a k loop over every position of the batch. So the images are split into the fewest equal chunks, a divisor
    // of the batch, that give each compute unit 4 rows of tiles.
    private int WeightChunks(Conv2dShape s, long taps)
    {
        var rows = (s.OutChannels + RegisterTileGemm.Rows - 1) / RegisterTileGemm.Rows;
        var wanted = 4 * Math.Max(1, device.Accelerator.NumMultiprocessors);
        if (rows >= wanted)
        {
            return 1;
        }

        for (var chunks = 2; chunks < s.Batch; chunks++)
        {
            if (s.Batch % chunks == 0 && rows * chunks >= wanted)
            {
                return chunks;
            }
        }

        return s.Batch;
    }

    // (K = Cin·Kernel², P = Ho·Wo, B·P).
    private static (long Taps, long Positions, long All) Sizes(Conv2dShape s)
    {
        var positions = (long)s.OutHeight * s.OutWidth;
        return ((long)s.InChannels * s.Kernel * s.Kernel, positions, positions * s.Batch);
    }

    private void Unfold(ArrayView<float> unfolded, ArrayView<float> input, Conv2dShape s, long tapStride, long positionStride)
    {
        var (taps, _, _) = Sizes(s);
        var rows = taps * s.Batch * s.OutHeight;
        var threads = device.Threads(rows);
        if (threads > 0)
        {
            unfold(threads, threads, checked((int)rows), unfolded, input, s, tapStride, positionStride);
        }
    }

    private void Run(Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, Conv2dShape> kernel, ArrayView<float> target, ArrayView<float> source, Conv2dShape s, long count)
    {
        var threads = device.Threads(count);
        if (threads > 0)
        {
            kernel(threads, threads, checked((int)count), target, source, s);
        }
    }

    // unfolded[tap·tapStride + (z·P + p)·positionStride] = unfolded input of image z at (tap = (ci, kh, kw), position p).
    // One item per (z, oh, tap) output row, tap fastest, looping over ow: the index arithmetic (integer divisions,
    // which the vector units lack) is paid once per row instead of once per element (cct-tiny at batch 64 on PoCL:
    // the two unfolds took 22 ms of a 110 ms step with an item per element).
    private static void UnfoldKernel(Index1D index, int stride, int rows, ArrayView<float> unfolded, ArrayView<float> input, Conv2dShape s, long tapStride, long positionStride)
    {
        var square = s.Kernel * s.Kernel;
        var taps = s.InChannels * square;
        var (ho, wo) = (s.OutHeight, s.OutWidth);
        for (long item = index; item < rows; item += stride)
        {
            var row = (int)item;
            var tap = row % taps;
            var zh = row / taps;
            var (oh, z) = (zh % ho, zh / ho);
            var (ci, kh, kw) = (tap / square, tap % square / s.Kernel, tap % s.Kernel);
            var h = (oh * s.Stride) + kh - s.Padding;
            var inside = h >= 0 && h < s.Height;
            var plane = ((((long)z * s.InChannels) + ci) * s.Height + h) * s.Width;
            var at = (tap * tapStride) + ((((long)z * ho) + oh) * wo * positionStride);
            for (var ow = 0; ow < wo; ow++)
            {
                var w = (ow * s.Stride) + kw - s.Padding;
                unfolded[at + (ow * positionStride)] = inside && w >= 0 && w < s.Width ? input[plane + w] : 0f;
            }
        }
    }

    // target (n) += Σ over z in order of partials (chunks, n).
    private static void AddChunksKernel(Index1D index, int stride, int count, ArrayView<float> target, ArrayView<float> partials, int chunks)
    {
        for (long item = index; item < count; item += stride)
        {
            var sum = 0f;
            for (var z = 0; z < chunks; z++)
            {
                sum += partials[(z * (long)count) + item];
            }

            target[item] += sum;
        }
    }

    // byChannel (Cout, B·P) = doutput (B, Cout, P) with the images side by side along each channel's row. One item per
    // (z, c) row of P floats (an item per element paid three 64-bit divisions each: 1.6 ms of cct-tiny's 42 ms step at
    // batch 32 on PoCL).
    private static void ChannelMajorKernel(Index1D index, int stride, int rows, ArrayView<float> byChannel, ArrayView<float> doutput, Conv2dShape s)
    {
        var positions = s.OutHeight * s.OutWidth;
        for (long item = index; item < rows; item += stride)
        {
            var (c, z) = (item % s.OutChannels, item / s.OutChannels);
            var from = item * positions;
            var at = (((c * s.Batch) + z) * positions);
            for (var p = 0; p < positions; p++)
            {
                byChannel[at + p] = doutput[from + p];
            }
        }
    }

    // dinput (B, Cin, H, W) += Σ over taps (kh, kw), in order, of dunfolded_z ((ci, kh, kw), (oh, ow)) at the output
    // position that tap reads input (h, w) from (LandingTaps, shared with MaxPool2d's backward).
    private static void FoldKernel(Index1D index, int stride, int count, ArrayView<float> dinput, ArrayView<float> dunfolded, Conv2dShape s, FastDivisor byWidth, FastDivisor byHeight, FastDivisor byChannels, FastDivisor byStride)
    {
        var (ho, wo) = (s.OutHeight, s.OutWidth);
        var positions = (long)ho * wo;
        var tapCount = s.InChannels * s.Kernel * s.Kernel;
        for (long item = index; item < count; item += stride)
        {
            var (row, w) = byWidth.DivRem((int)item);
            var (plane, h) = byHeight.DivRem(row);
            var (z, ci) = byChannels.DivRem(plane);
            var taps = new UnfoldedTaps(dunfolded, (long)z * tapCount * positions, ci, s.Kernel, positions, wo);
            dinput[item] += LandingTaps.Sum(h, w, s.Kernel, byStride, s.Padding, ho, wo, taps);
        }
    }
}
