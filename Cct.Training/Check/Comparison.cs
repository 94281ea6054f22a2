namespace Cct.Training.Check;

/// <summary>The element-wise comparison behind every row.</summary>
internal static class Comparison
{
    /// <summary>
    /// Compares <paramref name="actual"/> with <paramref name="reference"/> element by element.
    /// NaN equals NaN and an infinity equals the same infinity (a bad sample index is meant to give
    /// NaN on every device); a non-finite value on one side only is an infinite error.
    /// </summary>
    public static CheckRow Compare(string op, ReadOnlySpan<float> actual, ReadOnlySpan<float> reference, Tolerance tolerance)
    {
        if (actual.Length != reference.Length)
        {
            return CheckRow.Failed(op, tolerance, $"{actual.Length} values, the reference has {reference.Length}");
        }

        double maxAbs = 0;
        double maxRel = 0;
        var pass = true;
        for (var i = 0; i < actual.Length; i++)
        {
            double a = actual[i];
            double r = reference[i];
            double error;
            if (a.Equals(r))
            {
                // Equals (not ==) so NaN matches NaN; ±∞ match themselves.
                error = 0;
            }
            else if (!double.IsFinite(a) || !double.IsFinite(r))
            {
                error = double.PositiveInfinity;
            }
            else
            {
                error = Math.Abs(a - r);
            }

            maxAbs = Math.Max(maxAbs, error);
            var magnitude = double.IsFinite(r) ? Math.Abs(r) : 0;
            maxRel = Math.Max(maxRel, error / Math.Max(magnitude, tolerance.RelativeFloor));
            pass &= tolerance.Allows(error, magnitude);
        }

        return new CheckRow(op, maxAbs, maxRel, tolerance, pass);
    }

    /// <summary>Folds per-tensor rows into one: the worst errors, passing only if all pass; a failure names the worst tensor.</summary>
    public static CheckRow Merge(string op, IReadOnlyList<(string Tensor, CheckRow Row)> parts, Tolerance tolerance)
    {
        if (parts.Count == 0)
        {
            return CheckRow.Failed(op, tolerance, "nothing to compare");
        }

        var failed = parts.Where(p => !p.Row.Pass).ToList();
        var worst = (failed.Count > 0 ? failed : parts).MaxBy(p => p.Row.MaxRel);
        var note = failed.Count == 0
            ? null
            : $"{failed.Count} of {parts.Count} tensors fail, worst {worst.Tensor}" + (worst.Row.Note is null ? string.Empty : $" ({worst.Row.Note})");
        return new CheckRow($"{op} ({parts.Count} tensors)", parts.Max(p => p.Row.MaxAbs), parts.Max(p => p.Row.MaxRel), tolerance, failed.Count == 0, note);
    }
}
