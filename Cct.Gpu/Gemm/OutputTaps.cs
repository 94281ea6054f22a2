using ILGPU;
using Cct.Gpu.Layers;

namespace Cct.Gpu.Gemm;

/// <summary>
/// Convolution input gradient op(B)ᵀ: element (pixel (h, w), (co, kh, kw)) of image z = doutput[z, co, oh, ow] of the
/// output position that reads input (h, w) through tap (kh, kw); zero where the stride or the border leaves none.
/// </summary>
internal readonly struct OutputTaps : IGemmOperand
{
    public readonly ArrayView<float> Doutput; // (B, Cout, Ho, Wo)
    public readonly Conv2dShape Conv;

    public OutputTaps(ArrayView<float> doutput, Conv2dShape conv)
    {
        Doutput = doutput;
        Conv = conv;
    }

    public bool AlongK => false;

    public long Offset(int z) => (long)z * Conv.OutChannels * Conv.OutHeight * Conv.OutWidth;

    /// <inheritdoc/>
    public void ReadStepValues()
    {
    }

    public float Load(long offset, int row, int k)
    {
        var c = Conv;
        var taps = c.Kernel * c.Kernel;
        var (co, tap) = (k / taps, k % taps);
        var th = (row / c.Width) + c.Padding - (tap / c.Kernel);
        var tw = (row % c.Width) + c.Padding - (tap % c.Kernel);
        if (th < 0 || tw < 0 || th % c.Stride != 0 || tw % c.Stride != 0)
        {
            return 0f;
        }

        var (oh, ow) = (th / c.Stride, tw / c.Stride);
        return oh < c.OutHeight && ow < c.OutWidth
            ? Doutput[offset + ((((co * c.OutHeight) + oh) * c.OutWidth) + ow)]
            : 0f;
    }
}
