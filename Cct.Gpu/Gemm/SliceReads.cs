using ILGPU;
using ILGPU.Algorithms;

namespace Cct.Gpu.Gemm;

/// <summary>
/// The reads of a thread's four slice elements that the tap-major gathers share: down a channel's planes from one
/// pixel (<see cref="TapMajorUnfoldedInput"/>, <see cref="TapMajorOutputTaps"/>), or at one k across four rows
/// (<see cref="TapMajorWeights"/>, <see cref="TapMajorWeightTaps"/>).
/// </summary>
internal static class SliceReads
{
    /// <summary>
    /// view[at + r·step] for the slots r of <paramref name="place"/> (k = place.K + r·KStep), each kept when
    /// <paramref name="inside"/> and k &lt; <paramref name="past"/>. Every read is issued, from an address the caller keeps
    /// inside the view, so ptxas can issue them ahead of the multiply-adds.
    /// </summary>
    public static Float4 Planes(ArrayView<float> view, long at, int step, bool inside, MatMul.SlicePlacement place, int past) => new()
    {
        X = Kept(view[at], inside & (place.K < past)),
        Y = Kept(view[at + step], inside & (place.K + place.KStep < past)),
        Z = Kept(view[at + (2 * step)], inside & (place.K + (2 * place.KStep) < past)),
        W = Kept(view[at + (3 * step)], inside & (place.K + (3 * place.KStep) < past)),
    };

    /// <summary>
    /// view[row_r·rowLength + at] for the slots' rows row_r = row + r·RowStep (clamped to the last row for the read),
    /// each kept when <paramref name="kept"/> and row_r &lt; <paramref name="rows"/>.
    /// </summary>
    public static Float4 Rows(ArrayView<float> view, int at, int rowLength, int row, int rows, MatMul.SlicePlacement place, bool kept) => new()
    {
        X = Row(view, at, rowLength, row, rows, kept),
        Y = Row(view, at, rowLength, row + place.RowStep, rows, kept),
        Z = Row(view, at, rowLength, row + (2 * place.RowStep), rows, kept),
        W = Row(view, at, rowLength, row + (3 * place.RowStep), rows, kept),
    };

    private static float Row(ArrayView<float> view, int at, int rowLength, int row, int rows, bool kept)
        => Kept(view[(XMath.Min(row, rows - 1) * rowLength) + at], kept & (row < rows));

    private static float Kept(float value, bool kept) => kept ? value : 0f;
}
