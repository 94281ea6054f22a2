using ILGPU;
using ILGPU.Algorithms;
using Cct.Gpu.Layers;

namespace Cct.Gpu.Gemm;

/// <summary>
/// Convolution input gradient op(B)ᵀ with K in tap-major order, for stride 1: element (pixel (h, w), (kh, kw, co)) of
/// image z = doutput[z, co, h + padding − kh, w + padding − kw], zero where that lies outside the output. With Cout a
/// multiple of <see cref="MatMul.TileK"/> a K step lies in one tap and a thread's four elements share its pixel, so the
/// output position and its test are worked out once for the four (<see cref="TapMajorUnfoldedInput"/>);
/// <see cref="OutputTaps"/> works them out, with the stride's divisions, for every element. With those divisions here
/// the kernel spilled 72 bytes (ptxas 11.8, sm_90), and every convolution of the model has stride 1.
/// </summary>
internal readonly struct TapMajorOutputTaps : IGemmOperand
{
    public readonly ArrayView<float> Doutput; // (B, Cout, Ho, Wo)
    public readonly TapMajorSteps Steps;

    public TapMajorOutputTaps(ArrayView<float> doutput, Conv2dShape conv)
    {
        Doutput = doutput;
        Steps = new TapMajorSteps(conv, conv.OutChannels);
    }

    public bool AlongK => false;

    public long Offset(int z) => (long)z * Steps.Conv.OutChannels * Steps.Conv.OutHeight * Steps.Conv.OutWidth;

    /// <inheritdoc/>
    public void ReadStepValues()
    {
    }

    /// <inheritdoc/>
    public Float4 LoadSlice(long offset, MatMul.SlicePlacement place, int row0, int rows, int k0, int kEnd)
    {
        var (c, by) = (Steps.Conv, Steps.By);
        var row = row0 + place.Row;
        var (kh, kw, firstChannel) = Steps.At(k0);
        var (h, w) = by.Width.DivRem(XMath.Min(row, rows - 1));
        // Stride 1: input (h, w) reads output (h + padding − kh, w + padding − kw) through tap (kh, kw). Past the product's
        // end the tap may lie past the kernel; the position is tested all the same and the read stays in the image
        // (firstChannel + dk < Cout), and every element is zeroed by dk ≥ past.
        var oh = h + c.Padding - kh;
        var ow = w + c.Padding - kw;
        var inside = (row < rows) & (oh >= 0) & (ow >= 0) & (oh < c.OutHeight) & (ow < c.OutWidth);
        var plane = c.OutHeight * c.OutWidth;
        var at = offset + ((firstChannel + place.K) * plane) + (inside ? (oh * c.OutWidth) + ow : 0);
        var step = place.KStep * plane;
        return SliceReads.Planes(Doutput, at, step, inside, place, kEnd - k0);
    }
}
