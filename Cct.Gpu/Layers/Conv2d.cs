using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Gemm;
using Cct.Gpu.Reductions;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// 2D convolution with zero padding, as torch.nn.functional.conv2d (weight (Cout, Cin, K, K)); the optional
/// per-channel bias is a separate pass (<see cref="AddBias"/>, <see cref="BackwardBias(ArrayView{float}, ArrayView{float}, Conv2dShape)"/>).
/// </summary>
internal sealed class Conv2d
{
    // Items the CPU kernels compute together. The simulator's cost is in ArrayView accesses rather than
    // arithmetic, so each shared load feeding 4 multiply-adds made all three passes 1.5–2.3x faster (2 cores).
    private const int CpuLanes = 4;

    private readonly ComputeDevice device;
    private readonly MatMul? implicitGemm;
    private readonly UnfoldedConvolution? unfolded;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dShape>? forward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dShape>? inputBackward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dShape>? weightBackward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, Conv2dShape> addBias;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, Conv2dShape>? biasBackward;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dShape, int, int>? biasBackwardGroups;

    private Conv2d(ComputeDevice device)
    {
        var useImplicitGemm = device.Profile.Kernels == KernelFamily.Grouped;
        this.device = device;
        var accelerator = device.Accelerator;
        addBias = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, Conv2dShape>(AddBiasKernel);
        if (useImplicitGemm)
        {
            implicitGemm = MatMul.For(device);
            biasBackwardGroups = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dShape, int, int>(BiasBackwardGroupKernel);
            return;
        }

        biasBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, Conv2dShape>(BiasBackwardKernel);
        if (device.Profile.Kernels == KernelFamily.RegisterTiles)
        {
            unfolded = UnfoldedConvolution.For(device);
            return;
        }

        forward = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dShape>(ForwardLanesKernel);
        inputBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dShape>(InputBackwardLanesKernel);
        weightBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dShape>(WeightBackwardLanesKernel);
    }

    /// <summary>
    /// GPUs run the convolution as implicit GEMMs on the shared-memory MatMul kernel (the unfolded input is
    /// gathered as tiles load, never stored); an OpenCL CPU unfolds the input and runs register-tiled products on it
    /// (<see cref="UnfoldedConvolution"/>); the CPU simulator, where barriers are slow, runs barrier-free kernels with
    /// <see cref="CpuLanes"/> elements per item.
    /// </summary>
    public static Conv2d For(ComputeDevice device) => device.Kernels(static d => new Conv2d(d));

    /// <summary>output (B, Cout, Ho, Wo) = input (B, Cin, H, W) ⋆ weight (Cout, Cin, K, K).</summary>
    public void Forward(ArrayView<float> output, ArrayView<float> input, ArrayView<float> weight, Conv2dShape shape)
    {
        using var profile = device.Time("Conv2d.Forward");
        if (implicitGemm is not null)
        {
            implicitGemm.RunConvolution(GemmOperands.ConvForward, output, weight, input, shape);
            return;
        }

        if (unfolded is not null)
        {
            unfolded.Forward(output, input, weight, shape);
            return;
        }

        var count = (long)shape.Batch * shape.OutChannels * shape.OutHeight * Blocks(shape.OutWidth);
        var threads = device.Threads(count);
        if (threads > 0)
        {
            forward!(threads, threads, checked((int)count), output, input, weight, shape);
        }
    }

    /// <summary>
    /// Accumulates dweight (Cout, Cin, K, K) += ∂L/∂weight and, when <paramref name="inputGradient"/>,
    /// dinput (B, Cin, H, W) += ∂L/∂input, from doutput (B, Cout, Ho, Wo), input (B, Cin, H, W) and
    /// weight (Cout, Cin, K, K). The first layer of a network passes false and needs no dinput buffer.
    /// </summary>
    public void Backward(Conv2dGradients gradients, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weight, Conv2dShape shape, bool inputGradient = true)
    {
        using var profile = device.Time("Conv2d.Backward");
        var (dinput, dweight) = (gradients.Input, gradients.Weight);
        if (implicitGemm is not null)
        {
            if (inputGradient)
            {
                implicitGemm.RunConvolution(GemmOperands.ConvInputGradient, dinput, weight, doutput, shape);
            }

            implicitGemm.RunConvolution(GemmOperands.ConvWeightGradient, dweight, doutput, input, shape);
            return;
        }

        if (unfolded is not null)
        {
            unfolded.Backward(gradients, doutput, input, weight, shape, inputGradient);
            return;
        }

        var inputs = (long)shape.Batch * shape.InChannels * shape.Height * Blocks(shape.Width);
        var threads = device.Threads(inputs);
        if (inputGradient && threads > 0)
        {
            inputBackward!(threads, threads, checked((int)inputs), dinput, doutput, weight, shape);
        }

        var items = (long)shape.OutChannels * Blocks(shape.InChannels) * shape.Kernel * shape.Kernel;
        threads = device.Threads(items);
        if (threads > 0)
        {
            weightBackward!(threads, threads, checked((int)items), dweight, doutput, input, shape);
        }
    }

    /// <summary>output (B, Cout, Ho, Wo) += bias (Cout), channel c's bias on every position of plane c; run after <see cref="Forward"/>.</summary>
    public void AddBias(ArrayView<float> output, ArrayView<float> bias, Conv2dShape shape)
    {
        using var profile = device.Time("Conv2d.AddBias");
        var count = (long)shape.Batch * shape.OutChannels * shape.OutHeight * shape.OutWidth;
        var threads = device.Threads(count);
        if (threads > 0)
        {
            addBias(threads, threads, checked((int)count), output, bias, shape);
        }
    }

    /// <summary>
    /// Accumulates biasGradient (Cout) += Σ over (B, Ho, Wo) of outputGradient (B, Cout, Ho, Wo), in a fixed order
    /// (bit-identical run to run). GPUs split each channel's sum into groups over runs of images, each reduced with
    /// <see cref="PartialSums.GroupSum"/>, then add the groups' partials in order (<see cref="PartialSums.AddInto(int, PartialSum[])"/>);
    /// the CPU simulator sums one channel per item, barrier-free.
    /// </summary>
    public void BackwardBias(ArrayView<float> biasGradient, ArrayView<float> outputGradient, Conv2dShape shape)
        => BackwardBias(biasGradient, outputGradient, shape, BiasChunks(shape));

    /// <summary>
    /// <see cref="BackwardBias(ArrayView{float}, ArrayView{float}, Conv2dShape)"/> with each channel's sum split into
    /// <paramref name="chunks"/> runs of images on GPUs (tests force it on the simulator); the CPU kernel ignores it.
    /// </summary>
    internal void BackwardBias(ArrayView<float> biasGradient, ArrayView<float> outputGradient, Conv2dShape shape, int chunks)
    {
        using var profile = device.Time("Conv2d.BackwardBias");
        var spatial = (long)shape.OutHeight * shape.OutWidth;
        if (shape.Batch <= 0 || shape.OutChannels <= 0 || spatial <= 0)
        {
            return;
        }

        if (biasBackwardGroups is null)
        {
            var threads = device.Threads(shape.OutChannels);
            biasBackward!(threads, threads, shape.OutChannels, biasGradient, outputGradient, shape);
            return;
        }

        // Whole runs of images per chunk, and no empty chunk.
        var imagesPerChunk = PartialSums.RowsPerChunk(shape.Batch, Math.Clamp(chunks, 1, shape.Batch));
        chunks = PartialSums.RowsPerChunk(shape.Batch, imagesPerChunk);
        var sums = PartialSums.For(device);
        var partials = chunks > 1 ? sums.Partials((long)chunks * shape.OutChannels) : biasGradient;
        var groups = checked(chunks * shape.OutChannels);
        biasBackwardGroups(new KernelConfig(groups, PartialSums.GroupSize(device)), partials, biasGradient, outputGradient, shape, imagesPerChunk, chunks);
        if (chunks > 1)
        {
            sums.AddInto(chunks, new PartialSum(biasGradient, partials, shape.OutChannels));
        }
    }

    // Image chunks per channel on GPUs: about 4 groups per multiprocessor over all channels, at most one per image.
    private int BiasChunks(Conv2dShape shape)
    {
        if (biasBackwardGroups is null || shape.OutChannels <= 0 || shape.Batch <= 0)
        {
            return 1;
        }

        var wanted = ((4L * Math.Max(1, device.Accelerator.NumMultiprocessors)) + shape.OutChannels - 1) / shape.OutChannels;
        return (int)Math.Clamp(wanted, 1, shape.Batch);
    }

    // Items along the innermost blocked dimension of length n.
    private static int Blocks(int n) => n <= 0 ? 0 : ((n - 1) / CpuLanes) + 1;

    // CPU: one item per CpuLanes consecutive outputs (b, co, oh, ow0..ow0+3) of a row, grid-stride; each weight
    // load feeds every lane.
    private static void ForwardLanesKernel(Index1D index, int stride, int count, ArrayView<float> output, ArrayView<float> input, ArrayView<float> weight, Conv2dShape s)
    {
        var ho = s.OutHeight;
        var wo = s.OutWidth;
        var blocks = ((wo - 1) / CpuLanes) + 1;
        for (long item = index; item < count; item += stride)
        {
            var e = (int)item;
            var ow0 = e % blocks * CpuLanes;
            var row = e / blocks;
            var oh = row % ho;
            var co = row / ho % s.OutChannels;
            var b = row / ho / s.OutChannels;
            var n = Math.Min(CpuLanes, wo - ow0);
            var s0 = 0f;
            var s1 = 0f;
            var s2 = 0f;
            var s3 = 0f;
            for (var ci = 0; ci < s.InChannels; ci++)
            {
                var plane = ((long)b * s.InChannels + ci) * s.Height * s.Width;
                var taps = ((long)co * s.InChannels + ci) * s.Kernel * s.Kernel;
                for (var kh = 0; kh < s.Kernel; kh++)
                {
                    var h = (oh * s.Stride) + kh - s.Padding;
                    if (h < 0 || h >= s.Height)
                    {
                        continue;
                    }

                    var inRow = plane + ((long)h * s.Width);
                    for (var kw = 0; kw < s.Kernel; kw++)
                    {
                        var wv = weight[taps + (kh * s.Kernel) + kw];
                        var w = (ow0 * s.Stride) + kw - s.Padding;
                        if (w >= 0 && w < s.Width)
                        {
                            s0 += input[inRow + w] * wv;
                        }

                        w += s.Stride;
                        if (n > 1 && w >= 0 && w < s.Width)
                        {
                            s1 += input[inRow + w] * wv;
                        }

                        w += s.Stride;
                        if (n > 2 && w >= 0 && w < s.Width)
                        {
                            s2 += input[inRow + w] * wv;
                        }

                        w += s.Stride;
                        if (n > 3 && w >= 0 && w < s.Width)
                        {
                            s3 += input[inRow + w] * wv;
                        }
                    }
                }
            }

            var o = ((long)row * wo) + ow0;
            output[o] = s0;
            if (n > 1)
            {
                output[o + 1] = s1;
            }

            if (n > 2)
            {
                output[o + 2] = s2;
            }

            if (n > 3)
            {
                output[o + 3] = s3;
            }
        }
    }

    // CPU: one item per CpuLanes consecutive inputs (b, ci, h, w0..w0+3) of a row, grid-stride; each weight load
    // feeds every lane, and lane j reads output column OutColumn(w0 + j + pad − kw).
    private static void InputBackwardLanesKernel(Index1D index, int stride, int count, ArrayView<float> dinput, ArrayView<float> doutput, ArrayView<float> weight, Conv2dShape s)
    {
        var ho = s.OutHeight;
        var wo = s.OutWidth;
        var outPlane = (long)ho * wo;
        var tapStride = (long)s.InChannels * s.Kernel * s.Kernel;
        var blocks = ((s.Width - 1) / CpuLanes) + 1;
        for (long item = index; item < count; item += stride)
        {
            var e = (int)item;
            var w0 = e % blocks * CpuLanes;
            var row = e / blocks;
            var h = row % s.Height;
            var ci = row / s.Height % s.InChannels;
            var b = row / s.Height / s.InChannels;
            var n = Math.Min(CpuLanes, s.Width - w0);
            var s0 = 0f;
            var s1 = 0f;
            var s2 = 0f;
            var s3 = 0f;
            for (var kh = 0; kh < s.Kernel; kh++)
            {
                var th = h + s.Padding - kh;
                var oh = th / s.Stride;
                if (th < 0 || th % s.Stride != 0 || oh >= ho)
                {
                    continue;
                }

                for (var kw = 0; kw < s.Kernel; kw++)
                {
                    var tw = w0 + s.Padding - kw;
                    var c0 = OutColumn(tw, s.Stride, wo);
                    var c1 = n > 1 ? OutColumn(tw + 1, s.Stride, wo) : -1;
                    var c2 = n > 2 ? OutColumn(tw + 2, s.Stride, wo) : -1;
                    var c3 = n > 3 ? OutColumn(tw + 3, s.Stride, wo) : -1;
                    if (c0 < 0 && c1 < 0 && c2 < 0 && c3 < 0)
                    {
                        continue;
                    }

                    // Strength-reduced over co: the output plane and the tap advance by fixed strides.
                    var o = (((long)b * s.OutChannels * ho) + oh) * wo;
                    var tap = ((((long)ci * s.Kernel) + kh) * s.Kernel) + kw;
                    for (var co = 0; co < s.OutChannels; co++)
                    {
                        var wv = weight[tap];
                        if (c0 >= 0)
                        {
                            s0 += doutput[o + c0] * wv;
                        }

                        if (c1 >= 0)
                        {
                            s1 += doutput[o + c1] * wv;
                        }

                        if (c2 >= 0)
                        {
                            s2 += doutput[o + c2] * wv;
                        }

                        if (c3 >= 0)
                        {
                            s3 += doutput[o + c3] * wv;
                        }

                        o += outPlane;
                        tap += tapStride;
                    }
                }
            }

            var at = ((long)row * s.Width) + w0;
            dinput[at] += s0;
            if (n > 1)
            {
                dinput[at + 1] += s1;
            }

            if (n > 2)
            {
                dinput[at + 2] += s2;
            }

            if (n > 3)
            {
                dinput[at + 3] += s3;
            }
        }
    }

    // CPU: one item per CpuLanes consecutive input channels (co, ci0..ci0+3, kh, kw) of one tap, grid-stride; each
    // doutput load feeds every lane. Sums run over the batch and output positions.
    private static void WeightBackwardLanesKernel(Index1D index, int stride, int count, ArrayView<float> dweight, ArrayView<float> doutput, ArrayView<float> input, Conv2dShape s)
    {
        var ho = s.OutHeight;
        var wo = s.OutWidth;
        var taps = s.Kernel * s.Kernel;
        var planeSize = (long)s.Height * s.Width;
        var blocks = ((s.InChannels - 1) / CpuLanes) + 1;
        for (long item = index; item < count; item += stride)
        {
            var e = (int)item;
            var kw = e % s.Kernel;
            var kh = e / s.Kernel % s.Kernel;
            var ci0 = e / taps % blocks * CpuLanes;
            var co = e / taps / blocks;
            var n = Math.Min(CpuLanes, s.InChannels - ci0);
            var s0 = 0f;
            var s1 = 0f;
            var s2 = 0f;
            var s3 = 0f;
            for (var b = 0; b < s.Batch; b++)
            {
                var plane = ((long)b * s.InChannels + ci0) * planeSize;
                var outPlane = ((long)b * s.OutChannels + co) * ho * wo;
                for (var oh = 0; oh < ho; oh++)
                {
                    var h = (oh * s.Stride) + kh - s.Padding;
                    if (h < 0 || h >= s.Height)
                    {
                        continue;
                    }

                    for (var ow = 0; ow < wo; ow++)
                    {
                        var w = (ow * s.Stride) + kw - s.Padding;
                        if (w < 0 || w >= s.Width)
                        {
                            continue;
                        }

                        var d = doutput[outPlane + ((long)oh * wo) + ow];
                        var at = plane + ((long)h * s.Width) + w;
                        s0 += d * input[at];
                        if (n > 1)
                        {
                            s1 += d * input[at + planeSize];
                        }

                        if (n > 2)
                        {
                            s2 += d * input[at + (2 * planeSize)];
                        }

                        if (n > 3)
                        {
                            s3 += d * input[at + (3 * planeSize)];
                        }
                    }
                }
            }

            var t = (((long)co * s.InChannels + ci0) * taps) + (kh * s.Kernel) + kw;
            dweight[t] += s0;
            if (n > 1)
            {
                dweight[t + taps] += s1;
            }

            if (n > 2)
            {
                dweight[t + (2 * taps)] += s2;
            }

            if (n > 3)
            {
                dweight[t + (3 * taps)] += s3;
            }
        }
    }

    // One item per output element, grid-stride.
    private static void AddBiasKernel(Index1D index, int stride, int count, ArrayView<float> output, ArrayView<float> bias, Conv2dShape s)
    {
        var spatial = s.OutHeight * s.OutWidth;
        for (long item = index; item < count; item += stride)
        {
            var c = (int)(item / spatial % s.OutChannels);
            output[item] += bias[c];
        }
    }

    // CPU: one item per output channel, grid-stride, summing its planes image by image in order.
    private static void BiasBackwardKernel(Index1D index, int stride, int channels, ArrayView<float> biasGradient, ArrayView<float> outputGradient, Conv2dShape s)
    {
        var spatial = (long)s.OutHeight * s.OutWidth;
        for (long item = index; item < channels; item += stride)
        {
            var c = (int)item;
            var sum = 0f;
            for (var b = 0; b < s.Batch; b++)
            {
                var plane = (((long)b * s.OutChannels) + c) * spatial;
                for (long i = 0; i < spatial; i++)
                {
                    sum += outputGradient[plane + i];
                }
            }

            biasGradient[c] += sum;
        }
    }

    // GPU: group g reduces channel g % Cout over images [chunk·imagesPerChunk, …) of chunk g / Cout; thread t takes
    // the run's values t, t + group size, … (contiguous within a plane, so loads coalesce), then the group adds them
    // in a fixed tree. One chunk adds into biasGradient (Cout); more write partials (chunks, Cout) for PartialSums.
    private static void BiasBackwardGroupKernel(ArrayView<float> partials, ArrayView<float> biasGradient, ArrayView<float> outputGradient, Conv2dShape s, int imagesPerChunk, int chunks)
    {
        var c = Grid.IdxX % s.OutChannels;
        var chunk = Grid.IdxX / s.OutChannels;
        var spatial = s.OutHeight * s.OutWidth;
        var first = chunk * imagesPerChunk;
        var end = Math.Min(s.Batch, first + imagesPerChunk);
        var n = Math.Max(0, end - first) * spatial;
        var sum = 0f;
        for (var e = Group.IdxX; e < n; e += Group.DimX)
        {
            var b = first + (e / spatial);
            sum += outputGradient[((((long)b * s.OutChannels) + c) * spatial) + (e % spatial)];
        }

        var total = PartialSums.GroupSum(sum);
        if (Group.IdxX == 0 && chunk < chunks)
        {
            if (chunks == 1)
            {
                biasGradient[c] += total;
            }
            else
            {
                partials[((long)chunk * s.OutChannels) + c] = total;
            }
        }
    }

    // The output column whose window puts tap kw on input column w, given t = w + pad − kw; −1 where the
    // stride skips t or the column falls outside the output.
    private static int OutColumn(int t, int stride, int wo) => t >= 0 && t % stride == 0 && t / stride < wo ? t / stride : -1;
}
