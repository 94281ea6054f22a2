using Cct.Gpu.Runtime;

namespace Cct.Tests.Runtime;

/// <summary>
/// <see cref="FastDivisor"/> is exact or it is wrong: each case compares every quotient and remainder with C#'s integer
/// division, for every divisor up to 4,100 (past every shape Cct has) and the largest ones, at numerators that hit each
/// multiple's neighbours and the top of the range, where an off-by-one multiplier would first show.
/// </summary>
public sealed class FastDivisorTests
{
    private static IEnumerable<int> Divisors
        => Enumerable.Range(1, 4100).Concat([65_535, 65_536, 65_537, 1_000_003, (1 << 30) - 1, 1 << 30, (1 << 30) + 1, int.MaxValue - 1, int.MaxValue]);

    [Test]
    public void MatchesIntegerDivisionEverywhereItIsUsed()
    {
        var random = new Random(5);
        foreach (var d in Divisors)
        {
            var divisor = FastDivisor.Of(d);
            foreach (var n in Numerators(d, random))
            {
                var (quotient, remainder) = divisor.DivRem(n);
                if (quotient != n / d || remainder != n % d)
                {
                    Assert.Fail($"{n} / {d}: {quotient} rem {remainder}, expected {n / d} rem {n % d}");
                }
            }
        }
    }

    [Test]
    public void RejectsDivisorsBelowOne()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FastDivisor.Of(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => FastDivisor.Of(-3));
    }

    private static IEnumerable<int> Numerators(int d, Random random)
    {
        yield return 0;
        yield return int.MaxValue;
        yield return int.MaxValue - 1;
        for (var k = 1L; k * d <= int.MaxValue && k <= 64; k++)
        {
            yield return (int)((k * d) - 1);
            yield return (int)(k * d);
        }

        var top = (int)(int.MaxValue / d * (long)d); // the largest multiple
        yield return top;
        yield return top - 1;
        for (var i = 0; i < 64; i++)
        {
            yield return random.Next();
        }
    }
}
