using ILGPU;
using Cct.Gpu.Layers;

namespace Cct.Gpu.Gemm;

/// <summary>
/// Convolution input gradient op(B)ᵀ: element (pixel (h, w), (co, kh, kw)) of image z = doutput[z, co, oh, ow] of the
/// output position that reads input (h, w) through tap (kh, kw); zero where the stride or the border leaves none.
/// </summary>
internal readonly struct OutputTaps : IGemmElements
{
    public readonly ArrayView<float> Doutput; // (B, Cout, Ho, Wo)
    public readonly Conv2dShape Conv;
    public readonly ConvolutionDivisors By;

    public OutputTaps(ArrayView<float> doutput, Conv2dShape conv)
    {
        Doutput = doutput;
        Conv = conv;
        By = ConvolutionDivisors.Of(conv);
    }

    public bool AlongK => false;

    public long Offset(int z) => (long)z * Conv.OutChannels * Conv.OutHeight * Conv.OutWidth;

    /// <inheritdoc/>
    public void ReadStepValues()
    {
    }

    /// <inheritdoc/>
    public Float4 LoadSlice(long offset, MatMul.SlicePlacement place, int row0, int rows, int k0, int kEnd) => MatMul.LoadEach(this, offset, place, row0, rows, k0, kEnd);

    public float Load(long offset, int row, int k)
    {
        var c = Conv;
        var (co, tap) = By.Taps.DivRem(k);
        var (kh, kw) = By.Kernel.DivRem(tap);
        var (h, w) = By.Width.DivRem(row);
        var th = h + c.Padding - kh;
        var tw = w + c.Padding - kw;
        if (th < 0 || tw < 0)
        {
            return 0f;
        }

        var (oh, hRemainder) = By.Stride.DivRem(th);
        var (ow, wRemainder) = By.Stride.DivRem(tw);
        return hRemainder == 0 && wRemainder == 0 && oh < c.OutHeight && ow < c.OutWidth
            ? Doutput[offset + ((((co * c.OutHeight) + oh) * c.OutWidth) + ow)]
            : 0f;
    }
}
