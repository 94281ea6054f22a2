using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// The divisors a convolution's implicit-GEMM gathers (<see cref="Gemm.UnfoldedInput"/>, <see cref="Gemm.UnfoldedBatch"/>,
/// <see cref="Gemm.OutputTaps"/>, <see cref="Gemm.WeightTaps"/>, <see cref="Gemm.OutputGradientRows"/>) split every element's
/// indices by, worked out once per product on the host (<see cref="FastDivisor"/>): the taps K·K, the kernel side K, the
/// input width W, the output width Wo, the output positions Ho·Wo and the stride.
/// </summary>
internal readonly record struct ConvolutionDivisors(FastDivisor Taps, FastDivisor Kernel, FastDivisor Width, FastDivisor OutWidth, FastDivisor Positions, FastDivisor Stride)
{
    public static ConvolutionDivisors Of(Conv2dShape s)
        => new(FastDivisor.Of(s.Kernel * s.Kernel), FastDivisor.Of(s.Kernel), FastDivisor.Of(s.Width), FastDivisor.Of(s.OutWidth), FastDivisor.Of(s.OutHeight * s.OutWidth), FastDivisor.Of(s.Stride));
}
