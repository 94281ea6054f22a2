using ILGPU;
using ILGPU.Algorithms;
using Cct.Gpu.Layers;

namespace Cct.Gpu.Gemm;

/// <summary>
/// Convolution forward op(B)ᵀ with K in tap-major order: element (position (oh, ow), (kh, kw, ci)) of image z's unfolded
/// input, zero in the padding. With Cin a multiple of <see cref="MatMul.TileK"/> a K step lies in one tap, and a thread's
/// four elements of it share its position (the slice runs along rows): so the step's tap, the input pixel it reads and
/// whether that lies in the image are worked out once for the four, which differ only in their channel's plane.
/// <see cref="UnfoldedInput"/>'s order (ci, kh, kw) splits every element's k twice and tests every element's pixel.
/// </summary>
internal readonly struct TapMajorUnfoldedInput : IGemmOperand
{
    public readonly ArrayView<float> Input; // (B, Cin, H, W)
    public readonly TapMajorSteps Steps;

    public TapMajorUnfoldedInput(ArrayView<float> input, Conv2dShape conv)
    {
        Input = input;
        Steps = new TapMajorSteps(conv, conv.InChannels);
    }

    public bool AlongK => false;

    public long Offset(int z) => (long)z * Steps.Conv.InChannels * Steps.Conv.Height * Steps.Conv.Width;

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
        var (oh, ow) = by.OutWidth.DivRem(XMath.Min(row, rows - 1));
        var h = (oh * c.Stride) + kh - c.Padding;
        var w = (ow * c.Stride) + kw - c.Padding;
        // Past the product's end (the prefetch after its last step) the tap may lie past the kernel; the read stays in
        // the image all the same (firstChannel + dk < Cin, the pixel tested), and every element is zeroed by dk ≥ past.
        var inside = (row < rows) & (h >= 0) & (h < c.Height) & (w >= 0) & (w < c.Width);
        var plane = c.Height * c.Width;
        var at = offset + ((firstChannel + place.K) * plane) + (inside ? (h * c.Width) + w : 0);
        var step = place.KStep * plane;
        return SliceReads.Planes(Input, at, step, inside, place, kEnd - k0);
    }
}
