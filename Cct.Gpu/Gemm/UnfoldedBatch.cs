using ILGPU;
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

    public float Load(long offset, int row, int k)
    {
        var (image, position) = By.Positions.DivRem(k);
        return UnfoldedInput.Unfolded(Input, Conv, By, (long)image * Conv.InChannels * Conv.Height * Conv.Width, row, position);
    }
}
