namespace Cct.Training.Check;

/// <summary>One line of the `cct check` table: the worst errors of one compared output.</summary>
/// <param name="Op">What was compared, e.g. "conv2d 4x1x28x28→16 k3 s1 p1: dweight".</param>
/// <param name="MaxAbs">max |actual − reference|; +∞ when a NaN or infinity appears on one side only.</param>
/// <param name="MaxRel">max |actual − reference| / max(|reference|, <see cref="Tolerance.RelativeFloor"/>).</param>
/// <param name="Tolerance">The bound the row is held to.</param>
/// <param name="Pass">Whether both errors are within <paramref name="Tolerance"/> and nothing else went wrong.</param>
/// <param name="Note">Why a row failed beyond its numbers (an exception, a length mismatch), or null.</param>
public sealed record CheckRow(string Op, double MaxAbs, double MaxRel, Tolerance Tolerance, bool Pass, string? Note = null)
{
    /// <summary>A row for a comparison that could not run at all.</summary>
    internal static CheckRow Failed(string op, Tolerance tolerance, string note)
        => new(op, double.PositiveInfinity, double.PositiveInfinity, tolerance, false, note);
}
