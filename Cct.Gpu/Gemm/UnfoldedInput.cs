using ILGPU;
using Cct.Gpu.Layers;

namespace Cct.Gpu.Gemm;

/// <summary>Convolution forward op(B)ᵀ: element (position (oh, ow), (ci, kh, kw)) of image z's unfolded input (im2col), zero in the padding.</summary>
internal readonly struct UnfoldedInput : IGemmOperand
{
    public readonly ArrayView<float> Input; // (B, Cin, H, W)
    public readonly Conv2dShape Conv;

    public UnfoldedInput(ArrayView<float> input, Conv2dShape conv)
    {
        Input = input;
        Conv = conv;
    }

    public bool AlongK => false;

    public long Offset(int z) => (long)z * Conv.InChannels * Conv.Height * Conv.Width;

    /// <inheritdoc/>
    public void ReadStepValues()
    {
    }

    public float Load(long offset, int row, int k) => Unfolded(Input, Conv, offset, k, row);

    // Element (row = (ci, kh, kw), column = (oh, ow)) of the unfolded image at offset; zero in the padding.
    public static float Unfolded(ArrayView<float> input, Conv2dShape c, long offset, int row, int column)
    {
        var taps = c.Kernel * c.Kernel;
        var (ci, tap) = (row / taps, row % taps);
        var h = (column / c.OutWidth * c.Stride) + (tap / c.Kernel) - c.Padding;
        var w = (column % c.OutWidth * c.Stride) + (tap % c.Kernel) - c.Padding;
        return h >= 0 && h < c.Height && w >= 0 && w < c.Width
            ? input[offset + ((((ci * c.Height) + h) * c.Width) + w)]
            : 0f;
    }
}
