using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Gemm;

/// <summary>
/// What the tap-major pixel gathers (<see cref="TapMajorUnfoldedInput"/>, <see cref="TapMajorOutputTaps"/>) share: the
/// convolution, its divisors, and the channels summed over (Cin forward, Cout for the input gradient), a multiple of
/// <see cref="MatMul.TileK"/>, so that a K step starting at k0 lies in one tap (<see cref="At"/>).
/// </summary>
internal readonly struct TapMajorSteps
{
    public readonly Conv2dShape Conv;
    public readonly ConvolutionDivisors By;
    public readonly FastDivisor Channels;

    public TapMajorSteps(Conv2dShape conv, int channels)
    {
        Conv = conv;
        By = ConvolutionDivisors.Of(conv);
        Channels = FastDivisor.Of(channels);
    }

    /// <summary>The tap (kh, kw) of the K step at k0 and its first channel; the step's k are that channel onwards.</summary>
    public (int Kh, int Kw, int FirstChannel) At(int k0)
    {
        var (tap, firstChannel) = Channels.DivRem(k0);
        var (kh, kw) = By.Kernel.DivRem(tap);
        return (kh, kw, firstChannel);
    }
}
