namespace Cct.Tests.Support;

/// <summary>
/// Element-wise comparison with the bound |a − b| ≤ atol + rtol·|ref|. The default (1e-5, 1e-4) is
/// a few fp32 ulps over sums of tens of terms; tests that loosen it say why.
/// </summary>
public static class Compare
{
    public const double Atol = 1e-5;
    public const double Rtol = 1e-4;

    public static double AssertClose(float[] actual, float[] expected, string what, double atol = Atol, double rtol = Rtol)
        => AssertClose(actual.Select(a => (double)a).ToArray(), expected.Select(e => (double)e).ToArray(), what, atol, rtol);

    public static double AssertClose(double[] actual, double[] expected, string what, double atol = Atol, double rtol = Rtol)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{what}: length");
        double maxAbs = 0;
        var worst = -1;
        for (var i = 0; i < actual.Length; i++)
        {
            var error = Math.Abs(actual[i] - expected[i]);
            if (!(error <= atol + (rtol * Math.Abs(expected[i]))) && worst < 0)
            {
                worst = i;
            }

            if (double.IsNaN(error) || error > maxAbs)
            {
                maxAbs = double.IsNaN(error) ? double.PositiveInfinity : error;
            }
        }

        ParityLog.Record(what, maxAbs);
        Assert.That(worst, Is.EqualTo(-1), () => $"{what}: element {worst} is {actual[worst]}, expected {expected[worst]} (max abs error {maxAbs:g3})");
        return maxAbs;
    }
}
