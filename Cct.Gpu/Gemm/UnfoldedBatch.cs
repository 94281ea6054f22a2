using ILGPU;
using ILGPU.Algorithms;
using Cct.Gpu.Layers;

namespace Cct.Gpu.Gemm;

/// <summary>Convolution weight gradient op(B)ᵀ: element ((ci, kh, kw), (b, position)) of the unfolded batch; one product.</summary>
internal readonly struct UnfoldedBatch : IGemmOperand
{
    public readonly ArrayView<float> Input; // (B, Cin, H, W)
    public readonly Conv2dShape Conv;
    public readonly ConvolutionDivisors By;

    public UnfoldedBatch(ArrayView<float> input, Conv2dShape conv)
    {
        Input = input;
        Conv = conv;
        By = ConvolutionDivisors.Of(conv);
    }

    public bool AlongK => true;

    public long Offset(int z) => 0;

    /// <inheritdoc/>
    public void ReadStepValues()
    {
    }

    /// <inheritdoc/>
    public Float4 LoadSlice(long offset, MatMul.SlicePlacement place, int row0, int rows, int k0, int kEnd)
    {
        // The slice runs along k: a thread's four elements share its k, (image, oh, ow), which is split once here for its
        // four rows (ci, kh, kw). Element by element ptxas split it four times: a K loop of 862 SASS instructions for
        // 512 FFMA, now 732 (ptxas 11.8, sm_90).
        var c = Conv;
        var k = k0 + place.K;
        var (image, position) = By.Positions.DivRem(XMath.Min(k, kEnd - 1));
        var (oh, ow) = By.OutWidth.DivRem(position);
        var top = (oh * c.Stride) - c.Padding;
        var left = (ow * c.Stride) - c.Padding;
        var at = (long)image * c.InChannels * c.Height * c.Width;
        var kept = k < kEnd;
        var row = row0 + place.Row;
        return new Float4
        {
            X = Element(at, top, left, row, rows, kept),
            Y = Element(at, top, left, row + place.RowStep, rows, kept),
            Z = Element(at, top, left, row + (2 * place.RowStep), rows, kept),
            W = Element(at, top, left, row + (3 * place.RowStep), rows, kept),
        };
    }

    // Row (ci, kh, kw) of the unfolded image at `at`, for the output position whose window starts at (top, left).
    private float Element(long at, int top, int left, int row, int rows, bool kept)
    {
        var c = Conv;
        var (ci, tap) = By.Taps.DivRem(XMath.Min(row, rows - 1));
        var (kh, kw) = By.Kernel.DivRem(tap);
        var h = top + kh;
        var w = left + kw;
        var inside = kept & (row < rows) & (h >= 0) & (h < c.Height) & (w >= 0) & (w < c.Width);
        var value = Input[at + (((ci * c.Height) + (inside ? h : 0)) * c.Width) + (inside ? w : 0)];
        return inside ? value : 0f;
    }
}
