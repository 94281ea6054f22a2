using ILGPU;
using ILGPU.Algorithms;
using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Gemm;

/// <summary>
/// Convolution input gradient op(A) in <see cref="TapMajorOutputTaps"/>'s K order: weight (Cout, Cin, K, K) read as
/// (Cin, K·K·Cout), element (ci, (kh, kw, co)); the step's tap and channel split once for a thread's four input channels.
/// </summary>
internal readonly struct TapMajorWeightTaps : IGemmOperand
{
    public readonly ArrayView<float> Weight; // (Cout, Cin, K, K)
    public readonly int InChannels;
    public readonly int Taps;
    public readonly FastDivisor Channels; // Cout

    public TapMajorWeightTaps(ArrayView<float> weight, Conv2dShape conv)
    {
        Weight = weight;
        InChannels = conv.InChannels;
        Taps = conv.Kernel * conv.Kernel;
        Channels = FastDivisor.Of(conv.OutChannels);
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
        var (tap, firstChannel) = Channels.DivRem(k0);
        // Past the product's end the tap may lie past the kernel; the last one keeps the read inside the weight.
        var at = ((firstChannel + place.K) * InChannels * Taps) + XMath.Min(tap, Taps - 1);
        return SliceReads.Rows(Weight, at, Taps, row0 + place.Row, rows, place, place.K < kEnd - k0);
    }
}
