using ILGPU;
using ILGPU.Algorithms;
using Cct.Gpu.Gemm;

namespace Cct.Gpu.Layers;

/// <summary>
/// One <see cref="FlashAttention"/> thread's eight scores of a tile row: columns part, part + 4, …, part + 28 of the
/// 32-wide tile (m = 0 … 7 below), in registers. Their shared-memory rows sit 4·<c>RowStride</c> floats (<c>RowStride</c> Float4) apart and their
/// (B, H, T, T) indices 4 apart along a row, or 4·T apart down a column in the transposed (key-major) walk.
/// </summary>
internal struct TileScores
{
    private const int Step4 = FlashAttention.MaxHeadSize + 4; // 4 rows of RowStride floats, in Float4


    public float S0, S1, S2, S3, S4, S5, S6, S7;

    /// <summary>
    /// S_m += a · b[at + m·Step4] for the first <paramref name="count"/> columns m (the rest are past the matrix and left
    /// at 0, to be masked): four elements of each dot product, from Float4 views of the shared tiles (one 16-byte read of
    /// a and one of each b row for 32 multiply-adds, where scalar reads took 36 for them), in the same order as one
    /// element at a time. Across a warp the count differs by at most one (its lanes' parts 0–3), so a tile's columns
    /// past the matrix cost no work: at T = 49 the last key tile's 17 keys take 5 of 8. <paramref name="count"/> is at least 1:
    /// the caller skips a row with none before its loop, and the reads take constant offsets from one address, which in
    /// sm_90 SASS took a pass of the forward's score loop from 69 instructions to 55 (docs/gpu-kernels.md).
    /// </summary>
    public void Add(Float4 a, ArrayView<Float4> b, int at, int count)
    {
        var rows = b.SubView(at); // one address a call; an int index a read cost an IADD3 and a LEA each
        S0 = Dot(S0, a, rows[0]);
        if (count > 1)
        {
            S1 = Dot(S1, a, rows[Step4]);
        }

        if (count > 2)
        {
            S2 = Dot(S2, a, rows[2 * Step4]);
        }

        if (count > 3)
        {
            S3 = Dot(S3, a, rows[3 * Step4]);
        }

        if (count > 4)
        {
            S4 = Dot(S4, a, rows[4 * Step4]);
        }

        if (count > 5)
        {
            S5 = Dot(S5, a, rows[5 * Step4]);
        }

        if (count > 6)
        {
            S6 = Dot(S6, a, rows[6 * Step4]);
        }

        if (count > 7)
        {
            S7 = Dot(S7, a, rows[7 * Step4]);
        }
    }

    public void Scale(float factor)
    {
        S0 *= factor;
        S1 *= factor;
        S2 *= factor;
        S3 *= factor;
        S4 *= factor;
        S5 *= factor;
        S6 *= factor;
        S7 *= factor;
    }

    /// <summary>Column m is past the matrix, and becomes −∞ (a probability of 0), when 4m ≥ <paramref name="remaining"/>.</summary>
    public void MaskPast(int remaining)
    {
        S0 = remaining > 0 ? S0 : float.NegativeInfinity;
        S1 = remaining > 4 ? S1 : float.NegativeInfinity;
        S2 = remaining > 8 ? S2 : float.NegativeInfinity;
        S3 = remaining > 12 ? S3 : float.NegativeInfinity;
        S4 = remaining > 16 ? S4 : float.NegativeInfinity;
        S5 = remaining > 20 ? S5 : float.NegativeInfinity;
        S6 = remaining > 24 ? S6 : float.NegativeInfinity;
        S7 = remaining > 28 ? S7 : float.NegativeInfinity;
    }

    private static float Dot(float sum, Float4 a, Float4 b) => sum + (a.X * b.X) + (a.Y * b.Y) + (a.Z * b.Z) + (a.W * b.W);

    public readonly float Max()
        => XMath.Max(XMath.Max(XMath.Max(S0, S1), XMath.Max(S2, S3)), XMath.Max(XMath.Max(S4, S5), XMath.Max(S6, S7)));

    public readonly float Sum() => ((S0 + S1) + (S2 + S3)) + ((S4 + S5) + (S6 + S7));

    /// <summary>S_m = exp(S_m − shift): probabilities from scores, given the row's max or log-sum-exp.</summary>
    public void Exp(float shift)
    {
        S0 = XMath.Exp(S0 - shift);
        S1 = XMath.Exp(S1 - shift);
        S2 = XMath.Exp(S2 - shift);
        S3 = XMath.Exp(S3 - shift);
        S4 = XMath.Exp(S4 - shift);
        S5 = XMath.Exp(S5 - shift);
        S6 = XMath.Exp(S6 - shift);
        S7 = XMath.Exp(S7 - shift);
    }

    /// <summary>S_m = exp(S_m − shifts[at + 4m]): column m has its own log-sum-exp (the key-major walk, columns are queries).</summary>
    public void ExpPerColumn(ArrayView<float> shifts, int at)
    {
        S0 = XMath.Exp(S0 - shifts[at]);
        S1 = XMath.Exp(S1 - shifts[at + 4]);
        S2 = XMath.Exp(S2 - shifts[at + 8]);
        S3 = XMath.Exp(S3 - shifts[at + 12]);
        S4 = XMath.Exp(S4 - shifts[at + 16]);
        S5 = XMath.Exp(S5 - shifts[at + 20]);
        S6 = XMath.Exp(S6 - shifts[at + 24]);
        S7 = XMath.Exp(S7 - shifts[at + 28]);
    }

    /// <summary>target[at + 4m] = dropout(S_m), the element's (B, H, T, T) index being index + indexStep·m.</summary>
    public readonly void StoreDropped(ArrayView<float> target, int at, long index, long indexStep, ResolvedDropout dropout)
    {
        target[at] = dropout.Apply(index, S0);
        target[at + 4] = dropout.Apply(index + indexStep, S1);
        target[at + 8] = dropout.Apply(index + (2 * indexStep), S2);
        target[at + 12] = dropout.Apply(index + (3 * indexStep), S3);
        target[at + 16] = dropout.Apply(index + (4 * indexStep), S4);
        target[at + 20] = dropout.Apply(index + (5 * indexStep), S5);
        target[at + 24] = dropout.Apply(index + (6 * indexStep), S6);
        target[at + 28] = dropout.Apply(index + (7 * indexStep), S7);
    }

    /// <summary>
    /// With S_m the probabilities P and <paramref name="dprobabilities"/> the gradients of the dropped ones:
    /// target[at + 4m] = dS = P · (dropout(dP̃) − rowDots[dotAt + dotStep·m]), at indices index + indexStep·m.
    /// </summary>
    public readonly void StoreScoreGradients(ArrayView<float> target, int at, TileScores dprobabilities, ArrayView<float> rowDots, int dotAt, int dotStep, long index, long indexStep, ResolvedDropout dropout)
    {
        target[at] = S0 * (dropout.Apply(index, dprobabilities.S0) - rowDots[dotAt]);
        target[at + 4] = S1 * (dropout.Apply(index + indexStep, dprobabilities.S1) - rowDots[dotAt + dotStep]);
        target[at + 8] = S2 * (dropout.Apply(index + (2 * indexStep), dprobabilities.S2) - rowDots[dotAt + (2 * dotStep)]);
        target[at + 12] = S3 * (dropout.Apply(index + (3 * indexStep), dprobabilities.S3) - rowDots[dotAt + (3 * dotStep)]);
        target[at + 16] = S4 * (dropout.Apply(index + (4 * indexStep), dprobabilities.S4) - rowDots[dotAt + (4 * dotStep)]);
        target[at + 20] = S5 * (dropout.Apply(index + (5 * indexStep), dprobabilities.S5) - rowDots[dotAt + (5 * dotStep)]);
        target[at + 24] = S6 * (dropout.Apply(index + (6 * indexStep), dprobabilities.S6) - rowDots[dotAt + (6 * dotStep)]);
        target[at + 28] = S7 * (dropout.Apply(index + (7 * indexStep), dprobabilities.S7) - rowDots[dotAt + (7 * dotStep)]);
    }
}
