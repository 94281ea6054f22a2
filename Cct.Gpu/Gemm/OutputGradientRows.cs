using ILGPU;
using Cct.Gpu.Layers;

namespace Cct.Gpu.Gemm;

/// <summary>Convolution weight gradient op(A): doutput (B, Cout, Ho·Wo) read as (Cout, B·Ho·Wo), element (co, (b, position)); one product.</summary>
internal readonly struct OutputGradientRows : IGemmOperand
{
    public readonly ArrayView<float> Doutput; // (B, Cout, Ho, Wo)
    public readonly Conv2dShape Conv;
    public readonly ConvolutionDivisors By;

    public OutputGradientRows(ArrayView<float> doutput, Conv2dShape conv)
    {
        Doutput = doutput;
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
        var positions = By.Positions.Divisor;
        return Doutput[((long)image * Conv.OutChannels * positions) + ((row * positions) + position)];
    }
}
