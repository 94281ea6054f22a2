using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// The divisors a convolution's implicit-GEMM gathers (<see cref="Gemm.UnfoldedInput"/>, <see cref="Gemm.UnfoldedBatch"/>,
/// <see cref="Gemm.OutputTaps"/>, <see cref="Gemm.WeightTaps"/>, <see cref="Gemm.OutputGradientRows"/>) split every element's
/// indices by, worked out once per product on the host (<see cref="FastDivisor"/>): the taps K·K, the kernel side K, the
/// input width W, the output width Wo, the output positions Ho·Wo and the stride. A shape with an empty output (a
/// kernel wider than the padded input) gets divisors of 1: its product is empty and never launches, as before.
/// </summary>
internal readonly record struct ConvolutionDivisors(FastDivisor Taps, FastDivisor Kernel, FastDivisor Width, FastDivisor OutWidth, FastDivisor Positions, FastDivisor Stride)
{
    public static ConvolutionDivisors Of(Conv2dShape s)
        => new(By(s.Kernel * s.Kernel), By(s.Kernel), By(s.Width), By(s.OutWidth), By(s.OutHeight * s.OutWidth), By(s.Stride));

    private static FastDivisor By(int divisor) => FastDivisor.Of(Math.Max(1, divisor));
}
