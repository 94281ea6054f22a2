using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// 2D max pooling, as torch.nn.functional.max_pool2d; padding acts as −∞ and is never selected. Also relu(max_pool2d(x))
/// in one launch (<see cref="ForwardRelu"/>), for conv stages that pool before their ReLU.
/// </summary>
internal sealed class MaxPool2d
{
    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<int>, ArrayView<float>, Pool2dShape, FastDivisor, FastDivisor> forward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<int>, ArrayView<float>, Pool2dShape, FastDivisor, FastDivisor> forwardRelu;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, Pool2dShape, FastDivisor, FastDivisor, FastDivisor> backward;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, Pool2dShape, FastDivisor, FastDivisor, FastDivisor> backwardRelu;

    private MaxPool2d(ComputeDevice device)
    {
        this.device = device;
        var a = device.Accelerator;
        forward = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<int>, ArrayView<float>, Pool2dShape, FastDivisor, FastDivisor>(ForwardKernel<PoolIdentity>);
        forwardRelu = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<int>, ArrayView<float>, Pool2dShape, FastDivisor, FastDivisor>(ForwardKernel<PoolRelu>);
        backward = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, Pool2dShape, FastDivisor, FastDivisor, FastDivisor>(BackwardKernel<PoolIdentity>);
        backwardRelu = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, Pool2dShape, FastDivisor, FastDivisor, FastDivisor>(BackwardKernel<PoolRelu>);
    }

    public static MaxPool2d For(ComputeDevice device) => device.Kernels(static d => new MaxPool2d(d));

    /// <summary>
    /// output (B, C, Ho, Wo) = window maxima of input (B, C, H, W); argmax (B, C, Ho, Wo) = flat index
    /// into input of each maximum, the first in row-major window order on ties (PyTorch's rule).
    /// </summary>
    public void Forward(ArrayView<float> output, ArrayView<int> argmax, ArrayView<float> input, Pool2dShape shape)
    {
        using var profile = device.Time("MaxPool2d.Forward");
        Launch(forward, output, argmax, input, shape);
    }

    /// <summary>
    /// output (B, C, Ho, Wo) = relu of the window maxima of input (B, C, H, W), which equals max_pool2d(relu(input))
    /// (as values: where no value of a window is positive, the zero may carry the other sign, since relu keeps −0);
    /// argmax (B, C, Ho, Wo) as <see cref="Forward"/> gives it for input itself.
    /// </summary>
    public void ForwardRelu(ArrayView<float> output, ArrayView<int> argmax, ArrayView<float> input, Pool2dShape shape)
    {
        using var profile = device.Time("MaxPool2d.ForwardRelu");
        Launch(forwardRelu, output, argmax, input, shape);
    }

    /// <summary>
    /// dinput (B, C, H, W) += doutput (B, C, Ho, Wo) routed to the elements argmax (B, C, Ho, Wo) names.
    /// Overlapping windows (kernel 3, stride 2) can route several outputs to one input, so each input
    /// element gathers from the windows covering it: deterministic and free of atomics.
    /// </summary>
    public void Backward(ArrayView<float> dinput, ArrayView<float> doutput, ArrayView<int> argmax, Pool2dShape shape)
    {
        using var profile = device.Time("MaxPool2d.Backward");
        Launch(backward, dinput, doutput, argmax, doutput, shape); // The plain pool's gate reads no output.
    }

    /// <summary>
    /// <see cref="ForwardRelu"/>'s backward: dinput (B, C, H, W) += doutput (B, C, Ho, Wo) routed as <see cref="Backward"/>
    /// routes it, from outputs (B, C, Ho, Wo) of <see cref="ForwardRelu"/> above zero only. That equals the ReLU's then the
    /// pool's backward in the other order, bit for bit: each element gathers the same gradients in the same order.
    /// </summary>
    public void BackwardThroughRelu(ArrayView<float> dinput, ArrayView<float> doutput, ArrayView<int> argmax, ArrayView<float> output, Pool2dShape shape)
    {
        using var profile = device.Time("MaxPool2d.BackwardThroughRelu");
        Launch(backwardRelu, dinput, doutput, argmax, output, shape);
    }

    private void Launch(Action<Index1D, int, int, ArrayView<float>, ArrayView<int>, ArrayView<float>, Pool2dShape, FastDivisor, FastDivisor> kernel, ArrayView<float> output, ArrayView<int> argmax, ArrayView<float> input, Pool2dShape shape)
    {
        var count = (long)shape.Batch * shape.Channels * shape.OutHeight * shape.OutWidth;
        var threads = device.Threads(count);
        if (threads > 0)
        {
            kernel(threads, threads, checked((int)count), output, argmax, input, shape, FastDivisor.Of(shape.OutWidth), FastDivisor.Of(shape.OutHeight));
        }
    }

    private void Launch(Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, Pool2dShape, FastDivisor, FastDivisor, FastDivisor> kernel, ArrayView<float> dinput, ArrayView<float> doutput, ArrayView<int> argmax, ArrayView<float> output, Pool2dShape shape)
    {
        var count = (long)shape.Batch * shape.Channels * shape.Height * shape.Width;
        var threads = device.Threads(count);
        if (threads > 0)
        {
            kernel(threads, threads, checked((int)count), dinput, doutput, argmax, output, shape, FastDivisor.Of(shape.Width), FastDivisor.Of(shape.Height), FastDivisor.Of(shape.Stride));
        }
    }

    // One item per output element, grid-stride. Strict '>' keeps the first maximum; NaN wins, so it propagates as in PyTorch.
    private static void ForwardKernel<TActivation>(Index1D index, int stride, int count, ArrayView<float> output, ArrayView<int> argmax, ArrayView<float> input, Pool2dShape s, FastDivisor byOutWidth, FastDivisor byOutHeight)
        where TActivation : struct, IPoolActivation
    {
        for (long item = index; item < count; item += stride)
        {
            var e = (int)item;
            var (row, ow) = byOutWidth.DivRem(e);
            var (z, oh) = byOutHeight.DivRem(row);
            var plane = z * s.Height * s.Width;
            var best = float.NegativeInfinity;
            var at = -1;
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
                    if (w < 0 || w >= s.Width)
                    {
                        continue;
                    }

                    var i = plane + (h * s.Width) + w;
                    var v = input[i];
                    if (at < 0 || v > best || float.IsNaN(v))
                    {
                        best = v;
                        at = i;
                    }
                }
            }

            output[e] = default(TActivation).Apply(best);
            argmax[e] = at;
        }
    }

    // One item per input element (b, c, h, w), grid-stride, summing doutput over the windows that selected it (and
    // whose output the activation passes), in ascending (kh, kw) (LandingTaps).
    private static void BackwardKernel<TActivation>(Index1D index, int stride, int count, ArrayView<float> dinput, ArrayView<float> doutput, ArrayView<int> argmax, ArrayView<float> output, Pool2dShape s, FastDivisor byWidth, FastDivisor byHeight, FastDivisor byStride)
        where TActivation : struct, IPoolActivation
    {
        var ho = s.OutHeight;
        var wo = s.OutWidth;
        for (long item = index; item < count; item += stride)
        {
            var e = (int)item;
            var (row, w) = byWidth.DivRem(e);
            var (z, h) = byHeight.DivRem(row);
            var windows = new SelectedWindows<TActivation>(doutput, argmax, output, z * ho * wo, e, wo);
            dinput[e] += LandingTaps.Sum(h, w, s.Kernel, byStride, s.Padding, ho, wo, windows);
        }
    }
}
