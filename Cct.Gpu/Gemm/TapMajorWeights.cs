using ILGPU;
using ILGPU.Algorithms;
using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Gemm;

/// <summary>
/// Convolution forward op(A) in <see cref="TapMajorUnfoldedInput"/>'s K order: weight (Cout, Cin, K, K) read as
/// (Cout, K·K·Cin), element (co, (kh, kw, ci)). A thread's four elements of a step share its k (the slice runs along k),
/// so the step's tap and channel are split once for the four output channels.
/// </summary>
internal readonly struct TapMajorWeights : IGemmOperand
{
    public readonly ArrayView<float> Weight; // (Cout, Cin, K, K)
    public readonly int InChannels;
    public readonly int Taps;
    public readonly FastDivisor Channels; // Cin

    public TapMajorWeights(ArrayView<float> weight, Conv2dShape conv)
    {
        Weight = weight;
        InChannels = conv.InChannels;
        Taps = conv.Kernel * conv.Kernel;
        Channels = FastDivisor.Of(conv.InChannels);
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
        var at = ((firstChannel + place.K) * Taps) + XMath.Min(tap, Taps - 1);
        return SliceReads.Rows(Weight, at, InChannels * Taps, row0 + place.Row, rows, place, place.K < kEnd - k0);
    }
}
