using ILGPU;
using Cct.Gpu.Layers;

namespace Cct.Gpu.Gemm;

/// <summary>Convolution weight gradient op(A): doutput (B, Cout, Ho·Wo) read as (Cout, B·Ho·Wo), element (co, (b, position)); one product.</summary>
internal readonly struct OutputGradientRows : IGemmOperand
{
    public readonly ArrayView<float> Doutput; // (B, Cout, Ho, Wo)
    public readonly Conv2dShape Conv;

    public OutputGradientRows(ArrayView<float> doutput, Conv2dShape conv)
    {
        Doutput = doutput;
        Conv = conv;
    }

    public bool AlongK => true;

    public long Offset(int z) => 0;

    /// <inheritdoc/>
    public void ReadStepValues()
    {
    }

    public float Load(long offset, int row, int k)
    {
        var positions = Conv.OutHeight * Conv.OutWidth;
        var image = (long)(k / positions) * Conv.OutChannels * positions;
        return Doutput[image + ((row * positions) + (k % positions))];
    }
}
