
namespace Cct.Tests.Support;

/// <summary>
/// Element-wise comparison under the one tolerance scheme Cct uses everywhere (<see cref="Tolerance"/>, the bound
/// |a − b| ≤ atol + rtol·|ref| that <c>cct check</c> and the bench apply too). The default is <see cref="Tolerance.Model"/>
/// (1e-5 + 1e-4·|ref|), a few fp32 ulps over sums of tens of terms; the bounds below, and tests that loosen one, say why.
/// </summary>
public static class Compare
{
    /// <summary>
    /// An fp32 kernel against a float64 host computation or a central-difference derivative (<see cref="GradCheck"/>):
    /// the kernel's roundings over sums of up to a few hundred terms reach ~1e-6 relative and the derivative's O(h²)
    /// error is ~1e-12, so 1e-4 + 1e-3·|ref| leaves 100× margin; a wrong index or coefficient errs by O(|ref|).
    /// </summary>
    internal static Tolerance HostReference { get; } = new("host reference", 1e-4, 1e-3);

    /// <summary>One fp32 rounding of a product (the dropout scale 1/(1 − p)): at most 2^-23 ≈ 1.2e-7 relative, nothing absolute.</summary>
    internal static Tolerance OneRounding { get; } = new("one rounding", 0, 1.2e-7);

    /// <summary>Two chained fp32 roundings (dropout's backward scales dy by the mask's 1/(1 − p) and accumulates): below 3e-7 relative.</summary>
    internal static Tolerance TwoRoundings { get; } = new("two roundings", 0, 3e-7);

    internal static double AssertClose(float[] actual, float[] expected, string what, Tolerance? tolerance = null)
        => AssertClose(actual.Select(a => (double)a).ToArray(), expected.Select(e => (double)e).ToArray(), what, tolerance);

    internal static double AssertClose(double[] actual, double[] expected, string what, Tolerance? tolerance = null)
    {
        var bound = tolerance ?? Tolerance.Model;
        Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{what}: length");
        double maxAbs = 0;
        var worst = -1;
        for (var i = 0; i < actual.Length; i++)
        {
            var error = Math.Abs(actual[i] - expected[i]);
            if (!bound.Allows(error, expected[i]) && worst < 0)
            {
                worst = i;
            }

            if (double.IsNaN(error) || error > maxAbs)
            {
                maxAbs = double.IsNaN(error) ? double.PositiveInfinity : error;
            }
        }

        ParityLog.Record(what, maxAbs);
        Assert.That(worst, Is.EqualTo(-1), () => $"{what}: element {worst} is {actual[worst]}, expected {expected[worst]} (max abs error {maxAbs:g3}, bound {bound})");
        return maxAbs;
    }
}
