using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

/// <summary>No PyTorch fixture can reproduce the mask, so these check the mask against the host <see cref="RngKey"/> and its statistics.</summary>
public sealed class DropoutTests
{
    private static readonly RngKey Key = new(7, 3, 11);

    [Test]
    public void SameKeyGivesSameMaskAndOtherKeysDiffer()
    {
        const int n = 4096;
        const float p = 0.3f;
        var reference = Forward(Inputs(n), p, Key);
        Assert.Multiple(() =>
        {
            Assert.That(Forward(Inputs(n), p, Key), Is.EqualTo(reference));
            Assert.That(Forward(Inputs(n), p, Key with { Step = Key.Step + 1 }), Is.Not.EqualTo(reference));
            Assert.That(Forward(Inputs(n), p, Key with { Stream = Key.Stream + 1 }), Is.Not.EqualTo(reference));
            Assert.That(Forward(Inputs(n), p, Key with { Seed = Key.Seed + 1 }), Is.Not.EqualTo(reference));
        });
    }

    /// <summary>
    /// The kept count is Binomial(n, 1 − p); 5 sigma (a false-failure chance of ~6e-7 for a fresh key) bounds it
    /// to within ±0.47 % of n at p = 0.1 or 0.9 and ±0.79 % at p = 0.5.
    /// </summary>
    [TestCase(0.1f)]
    [TestCase(0.5f)]
    [TestCase(0.9f)]
    public void KeptFractionIsWithinFiveSigma(float p)
    {
        const int n = 100_000;
        var kept = Forward(Inputs(n), p, Key).Count(v => v != 0);
        var sigma = Math.Sqrt(n * p * (1.0 - p));
        Assert.That(Math.Abs(kept - (n * (1.0 - p))), Is.LessThanOrEqualTo(5 * sigma), $"kept {kept} of {n} at p = {p}");
    }

    [Test]
    public void KeptElementsAreScaledAndDroppedAreZero()
    {
        const int n = 10_000;
        const float p = 0.25f;
        var x = Inputs(n);
        var y = Forward(x, p, Key);
        var mask = Enumerable.Range(0, n).Select(i => Key.Uniform(i) >= p).ToArray();
        Assert.That(mask, Has.Some.False.And.Some.True);
        // Dropped elements must be exactly 0; kept ones are x / (1 − p) up to the fp32 reciprocal's rounding (2^-23 relative).
        var expected = Enumerable.Range(0, n).Select(i => mask[i] ? x[i] / (1.0 - p) : 0.0).ToArray();
        Compare.AssertClose(y.ToDoubles(), expected, "dropout.mask.out", Compare.OneRounding);
    }

    [Test]
    public void BackwardUsesTheForwardMaskAndAccumulates()
    {
        const int n = 5000;
        const float p = 0.4f;
        var x = Inputs(n);
        var dy = Inputs(n, 3);
        var y = Forward(x, p, Key);
        var device = TestDevices.Cpu;
        using var dyb = device.Upload(dy);
        using var dx = device.Allocate(n);
        dx.MemSetToZero();
        var dropout = Dropout.For(device);
        dropout.Backward(dx.View, dyb.View, n, p, Key);
        var once = dx.Read();
        dropout.Backward(dx.View, dyb.View, n, p, Key);
        var twice = dx.Read();

        // dinput = doutput · output / input elementwise: zero exactly where forward dropped.
        var expected = Enumerable.Range(0, n).Select(i => (double)dy[i] * y[i] / x[i]).ToArray();
        Assert.That(Enumerable.Range(0, n).Select(i => once[i] == 0), Is.EqualTo(y.Select(v => v == 0)));
        Compare.AssertClose(once.ToDoubles(), expected, "dropout.mask.dx", Compare.TwoRoundings);
        Assert.That(twice, Is.EqualTo(once.Select(v => 2 * v).ToArray()), "backward accumulates");
    }

    [Test]
    public void ZeroProbabilityIsTheIdentity()
    {
        const int n = 1000;
        var x = Inputs(n);
        var dy = Inputs(n, 5);
        Assert.That(Forward(x, 0f, Key), Is.EqualTo(x));
        var device = TestDevices.Cpu;
        using var dyb = device.Upload(dy);
        using var dx = device.Upload(Enumerable.Repeat(0.5f, n).ToArray());
        Dropout.For(device).Backward(dx.View, dyb.View, n, 0f, Key);
        Assert.That(dx.Read(), Is.EqualTo(dy.Select(v => 0.5f + v).ToArray()));
    }

    [Test]
    public void FullProbabilityDropsEverythingAndOthersAreRejected()
    {
        Assert.That(Forward(Inputs(100), 1f, Key), Is.All.EqualTo(0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => Forward(Inputs(4), 1.5f, Key));
        Assert.Throws<ArgumentOutOfRangeException>(() => Forward(Inputs(4), float.NaN, Key));
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        const int n = 16;
        const float p = 0.5f;
        var x = GradCheck.RandomDoubles(1, n);
        var dy = GradCheck.RandomDoubles(2, n);
        var device = TestDevices.Cpu;
        using var dyb = device.Upload(dy.ToFloats());
        using var dx = device.Allocate(n);
        dx.MemSetToZero();
        Dropout.For(device).Backward(dx.View, dyb.View, n, p, Key);

        // With the key fixed, dropout is the linear map x ↦ x · mask / (1 − p).
        var numerical = GradCheck.Numerical(v => GradCheck.Dot(v.Select((xi, i) => Key.Uniform(i) >= p ? xi / (1 - p) : 0).ToArray(), dy), x);
        Assert.That(numerical, Has.Some.EqualTo(0.0).And.Some.Not.EqualTo(0.0), "the mask keeps some elements and drops others");
        Compare.AssertClose(dx.Read().ToDoubles(), numerical, "dropout.fd.dx", Compare.HostReference);
    }

    // Nonzero values of both signs, so a kept element is never mistaken for a dropped one.
    private static float[] Inputs(int n, int salt = 0)
        => Enumerable.Range(0, n).Select(i => (((i + salt) % 2 == 0) ? 1f : -1f) * (0.5f + ((i + salt) % 17 * 0.125f))).ToArray();

    private static float[] Forward(float[] x, float p, RngKey key)
    {
        var device = TestDevices.Cpu;
        using var xb = device.Upload(x);
        using var y = device.Allocate(x.Length);
        Dropout.For(device).Forward(y.View, xb.View, x.Length, p, key);
        return y.Read();
    }
}
