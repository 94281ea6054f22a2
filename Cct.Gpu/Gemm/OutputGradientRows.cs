using ILGPU;
using ILGPU.Algorithms;
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

    /// <inheritdoc/>
    public Float4 LoadSlice(long offset, MatMul.SlicePlacement place, int row0, int rows, int k0, int kEnd)
    {
        // A thread's four elements share its k, (image, position), split once for its four output channels.
        var k = k0 + place.K;
        var (image, position) = By.Positions.DivRem(XMath.Min(k, kEnd - 1));
        var positions = By.Positions.Divisor;
        var at = ((long)image * Conv.OutChannels * positions) + position;
        var kept = k < kEnd;
        var row = row0 + place.Row;
        return new Float4
        {
            X = Element(at, positions, row, rows, kept),
            Y = Element(at, positions, row + place.RowStep, rows, kept),
            Z = Element(at, positions, row + (2 * place.RowStep), rows, kept),
            W = Element(at, positions, row + (3 * place.RowStep), rows, kept),
        };
    }

    private float Element(long at, int positions, int row, int rows, bool kept)
    {
        var value = Doutput[at + (XMath.Min(row, rows - 1) * positions)];
        return kept & (row < rows) ? value : 0f;
    }
}
