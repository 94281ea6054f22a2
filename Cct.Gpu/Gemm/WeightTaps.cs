using ILGPU;
using Cct.Gpu.Layers;

namespace Cct.Gpu.Gemm;

/// <summary>Convolution input gradient op(A): weight (Cout, Cin, K, K) read as (Cin, Cout·K·K), element (ci, (co, kh, kw)).</summary>
internal readonly struct WeightTaps : IGemmElements
{
    public readonly ArrayView<float> Weight; // (Cout, Cin, K, K)
    public readonly Conv2dShape Conv;
    public readonly ConvolutionDivisors By;

    public WeightTaps(ArrayView<float> weight, Conv2dShape conv)
    {
        Weight = weight;
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
    public Float4 LoadSlice(long offset, MatMul.SlicePlacement place, int row0, int rows, int k0, int kEnd) => MatMul.LoadEach(this, offset, place, row0, rows, k0, kEnd);

    public float Load(long offset, int row, int k)
    {
        var (co, tap) = By.Taps.DivRem(k);
        return Weight[((((co * Conv.InChannels) + row) * By.Taps.Divisor) + tap)];
    }
}
