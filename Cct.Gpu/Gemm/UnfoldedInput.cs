using ILGPU;
using Cct.Gpu.Layers;

namespace Cct.Gpu.Gemm;

/// <summary>Convolution forward op(B)ᵀ: element (position (oh, ow), (ci, kh, kw)) of image z's unfolded input (im2col), zero in the padding.</summary>
internal readonly struct UnfoldedInput : IGemmElements
{
    public readonly ArrayView<float> Input; // (B, Cin, H, W)
    public readonly Conv2dShape Conv;
    public readonly ConvolutionDivisors By;

    public UnfoldedInput(ArrayView<float> input, Conv2dShape conv)
    {
        Input = input;
        Conv = conv;
        By = ConvolutionDivisors.Of(conv);
    }

    public bool AlongK => false;

    public long Offset(int z) => (long)z * Conv.InChannels * Conv.Height * Conv.Width;

    /// <inheritdoc/>
    public void ReadStepValues()
    {
    }

    /// <inheritdoc/>
    public Float4 LoadSlice(long offset, MatMul.SlicePlacement place, int row0, int rows, int k0, int kEnd) => MatMul.LoadEach(this, offset, place, row0, rows, k0, kEnd);

    public float Load(long offset, int row, int k) => Unfolded(Input, Conv, By, offset, k, row);

    // Element (row = (ci, kh, kw), column = (oh, ow)) of the unfolded image at offset; zero in the padding. Three splits
    // per element, each a multiply and a shift (FastDivisor): as integer divisions by kernel arguments they made the
    // convolution K loops 871-1,219 SASS instructions for 512 FFMA, now 750-862 (docs/gpu-kernels.md).
    public static float Unfolded(ArrayView<float> input, Conv2dShape c, ConvolutionDivisors by, long offset, int row, int column)
    {
        var (ci, tap) = by.Taps.DivRem(row);
        var (kh, kw) = by.Kernel.DivRem(tap);
        var (oh, ow) = by.OutWidth.DivRem(column);
        var h = (oh * c.Stride) + kh - c.Padding;
        var w = (ow * c.Stride) + kw - c.Padding;
        return h >= 0 && h < c.Height && w >= 0 && w < c.Width
            ? input[offset + ((((ci * c.Height) + h) * c.Width) + w)]
            : 0f;
    }
}
