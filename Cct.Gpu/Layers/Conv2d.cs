using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>Dimensions of one square-kernel 2D convolution over NCHW tensors.</summary>
public readonly record struct Conv2dShape(int Batch, int InChannels, int Height, int Width, int OutChannels, int Kernel, int Stride, int Padding)
{
    public int OutHeight => ((Height + (2 * Padding) - Kernel) / Stride) + 1;

    public int OutWidth => ((Width + (2 * Padding) - Kernel) / Stride) + 1;
}

/// <summary>2D convolution without bias and with zero padding, as torch.nn.functional.conv2d (weight (Cout, Cin, K, K)).</summary>
public sealed class Conv2d
{
    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dShape> forward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dShape> inputBackward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dShape> weightBackward;

    private Conv2d(ComputeDevice device)
    {
        this.device = device;
        var accelerator = device.Accelerator;
        forward = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dShape>(ForwardKernel);
        inputBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dShape>(InputBackwardKernel);
        weightBackward = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dShape>(WeightBackwardKernel);
    }

    public static Conv2d For(ComputeDevice device) => device.Kernels(static d => new Conv2d(d));

    /// <summary>output (B, Cout, Ho, Wo) = input (B, Cin, H, W) ⋆ weight (Cout, Cin, K, K).</summary>
    public void Forward(ArrayView<float> output, ArrayView<float> input, ArrayView<float> weight, Conv2dShape shape)
    {
        var count = (long)shape.Batch * shape.OutChannels * shape.OutHeight * shape.OutWidth;
        var threads = device.Threads(count);
        if (threads > 0)
        {
            forward(threads, threads, checked((int)count), output, input, weight, shape);
        }
    }

    /// <summary>
    /// Accumulates dweight (Cout, Cin, K, K) += ∂L/∂weight and, when <paramref name="inputGradient"/>,
    /// dinput (B, Cin, H, W) += ∂L/∂input, from doutput (B, Cout, Ho, Wo), input (B, Cin, H, W) and
    /// weight (Cout, Cin, K, K). The first layer of a network passes false and needs no dinput buffer.
    /// </summary>
    public void Backward(ArrayView<float> dinput, ArrayView<float> dweight, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weight, Conv2dShape shape, bool inputGradient = true)
    {
        var inputs = (long)shape.Batch * shape.InChannels * shape.Height * shape.Width;
        var threads = device.Threads(inputs);
        if (inputGradient && threads > 0)
        {
            inputBackward(threads, threads, checked((int)inputs), dinput, doutput, weight, shape);
        }

        var weights = (long)shape.OutChannels * shape.InChannels * shape.Kernel * shape.Kernel;
        threads = device.Threads(weights);
        if (threads > 0)
        {
            weightBackward(threads, threads, checked((int)weights), dweight, doutput, input, shape);
        }
    }

    // One item per output element (b, co, oh, ow), grid-stride; padded taps are skipped, i.e. read as zero.
    private static void ForwardKernel(Index1D index, int stride, int count, ArrayView<float> output, ArrayView<float> input, ArrayView<float> weight, Conv2dShape s)
    {
        var ho = s.OutHeight;
        var wo = s.OutWidth;
        for (long item = index; item < count; item += stride)
        {
            var e = (int)item;
            var ow = e % wo;
            var oh = e / wo % ho;
            var co = e / wo / ho % s.OutChannels;
            var b = e / wo / ho / s.OutChannels;
            var sum = 0f;
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

                    for (var kw = 0; kw < s.Kernel; kw++)
                    {
                        var w = (ow * s.Stride) + kw - s.Padding;
                        if (w >= 0 && w < s.Width)
                        {
                            sum += input[plane + ((long)h * s.Width) + w] * weight[taps + (kh * s.Kernel) + kw];
                        }
                    }
                }
            }

            output[e] = sum;
        }
    }

    // One item per input element (b, ci, h, w), grid-stride, gathering from every output position whose
    // window covers it: oh = (h + pad − kh) / stride where that division is exact and in range.
    private static void InputBackwardKernel(Index1D index, int stride, int count, ArrayView<float> dinput, ArrayView<float> doutput, ArrayView<float> weight, Conv2dShape s)
    {
        var ho = s.OutHeight;
        var wo = s.OutWidth;
        for (long item = index; item < count; item += stride)
        {
            var e = (int)item;
            var w = e % s.Width;
            var h = e / s.Width % s.Height;
            var ci = e / s.Width / s.Height % s.InChannels;
            var b = e / s.Width / s.Height / s.InChannels;
            var sum = 0f;
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
                    var tw = w + s.Padding - kw;
                    var ow = tw / s.Stride;
                    if (tw < 0 || tw % s.Stride != 0 || ow >= wo)
                    {
                        continue;
                    }

                    for (var co = 0; co < s.OutChannels; co++)
                    {
                        var o = ((((long)b * s.OutChannels) + co) * ho + oh) * wo + ow;
                        var tap = ((((long)co * s.InChannels) + ci) * s.Kernel + kh) * s.Kernel + kw;
                        sum += doutput[o] * weight[tap];
                    }
                }
            }

            dinput[e] += sum;
        }
    }

    // One item per weight element (co, ci, kh, kw), grid-stride, summing over the batch and the output positions.
    private static void WeightBackwardKernel(Index1D index, int stride, int count, ArrayView<float> dweight, ArrayView<float> doutput, ArrayView<float> input, Conv2dShape s)
    {
        var ho = s.OutHeight;
        var wo = s.OutWidth;
        for (long item = index; item < count; item += stride)
        {
            var e = (int)item;
            var kw = e % s.Kernel;
            var kh = e / s.Kernel % s.Kernel;
            var ci = e / s.Kernel / s.Kernel % s.InChannels;
            var co = e / s.Kernel / s.Kernel / s.InChannels;
            var sum = 0f;
            for (var b = 0; b < s.Batch; b++)
            {
                var plane = ((long)b * s.InChannels + ci) * s.Height * s.Width;
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
                        if (w >= 0 && w < s.Width)
                        {
                            sum += doutput[outPlane + ((long)oh * wo) + ow] * input[plane + ((long)h * s.Width) + w];
                        }
                    }
                }
            }

            dweight[e] += sum;
        }
    }
}
