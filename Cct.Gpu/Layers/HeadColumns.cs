using ILGPU;
using Cct.Gpu.Gemm;

namespace Cct.Gpu.Layers;

/// <summary>
/// One <see cref="FlashAttention"/> thread's quarter of a head row: hs/4 adjacent columns as <c>Chunks</c> = hs/16
/// <see cref="Float4"/> registers (1 to 4, for head sizes 16 to 64). Chunks past the count stay zero and are never read
/// or stored; the count is the same for the whole launch, so its tests do not diverge.
/// </summary>
internal struct HeadColumns
{
    public Float4 C0, C1, C2, C3;

    /// <summary>this += a · rows[at …], the row's chunks of a Float4 view of a shared tile.</summary>
    public void MultiplyAdd(float a, ArrayView<Float4> rows, int at, int chunks)
    {
        var row = rows.SubView(at); // one address a call: with views at the row and columns, dk/dv's loop 76 → 52 SASS instructions a pass (docs/gpu-kernels.md)
        C0 = Float4.MultiplyAdd(C0, a, row[0]);
        if (chunks > 1)
        {
            C1 = Float4.MultiplyAdd(C1, a, row[1]);
        }

        if (chunks > 2)
        {
            C2 = Float4.MultiplyAdd(C2, a, row[2]);
        }

        if (chunks > 3)
        {
            C3 = Float4.MultiplyAdd(C3, a, row[3]);
        }
    }

    public void Scale(float factor)
    {
        C0 = Float4.Scale(C0, factor);
        C1 = Float4.Scale(C1, factor);
        C2 = Float4.Scale(C2, factor);
        C3 = Float4.Scale(C3, factor);
    }

    /// <summary>target[at …] = this · factor (the forward's output), or += (<paramref name="accumulate"/>: backward's gradients).</summary>
    public readonly void Store(ArrayView<float> target, long at, float factor, int chunks, bool accumulate)
    {
        Store(target, at, C0, factor, accumulate);
        if (chunks > 1)
        {
            Store(target, at + 4, C1, factor, accumulate);
        }

        if (chunks > 2)
        {
            Store(target, at + 8, C2, factor, accumulate);
        }

        if (chunks > 3)
        {
            Store(target, at + 12, C3, factor, accumulate);
        }
    }

    private static void Store(ArrayView<float> target, long at, Float4 value, float factor, bool accumulate)
    {
        target[at] = (accumulate ? target[at] : 0f) + (value.X * factor);
        target[at + 1] = (accumulate ? target[at + 1] : 0f) + (value.Y * factor);
        target[at + 2] = (accumulate ? target[at + 2] : 0f) + (value.Z * factor);
        target[at + 3] = (accumulate ? target[at + 3] : 0f) + (value.W * factor);
    }
}
