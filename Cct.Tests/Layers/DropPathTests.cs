using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

/// <summary>No PyTorch fixture can reproduce the mask, so these check it against the host <see cref="RngKey"/> and its statistics.</summary>
public sealed class DropPathTests
{
    private static readonly RngKey Key = new(7, 5, 11);

    [Test]
    public void SameKeyGivesSameMaskAndOtherKeysDiffer()
    {
        const int batch = 64, perSample = 5;
        const float p = 0.3f;
        var x = Inputs(batch * perSample);
        var reference = Forward(x, batch, perSample, p, Key);
        Assert.Multiple(() =>
        {
            Assert.That(Forward(x, batch, perSample, p, Key), Is.EqualTo(reference));
            Assert.That(Forward(x, batch, perSample, p, Key with { Step = Key.Step + 1 }), Is.Not.EqualTo(reference));
            Assert.That(Forward(x, batch, perSample, p, Key with { Stream = Key.Stream + 1 }), Is.Not.EqualTo(reference));
            Assert.That(Forward(x, batch, perSample, p, Key with { Seed = Key.Seed + 1 }), Is.Not.EqualTo(reference));
        });
    }

    /// <summary>The kept sample count is Binomial(B, 1 − p); 5 sigma (false-failure chance ~6e-7 for a fresh key) bounds it.</summary>
    [TestCase(0.1f)]
    [TestCase(0.5f)]
    public void KeptFractionIsWithinFiveSigma(float p)
    {
        const int batch = 100_000, perSample = 2;
        var y = Forward(Inputs(batch * perSample), batch, perSample, p, Key);
        var kept = Enumerable.Range(0, batch).Count(b => y[b * perSample] != 0);
        var sigma = Math.Sqrt(batch * p * (1.0 - p));
        Assert.That(Math.Abs(kept - (batch * (1.0 - p))), Is.LessThanOrEqualTo(5 * sigma), $"kept {kept} of {batch} samples at p = {p}");
    }

    [Test]
    public void DropsWholeSamplesAndScalesKeptOnes()
    {
        const int batch = 200, perSample = 37;
        const float p = 0.25f;
        var x = Inputs(batch * perSample);
        var y = Forward(x, batch, perSample, p, Key);
        var mask = Enumerable.Range(0, batch).Select(b => Key.Uniform(b) >= p).ToArray();
        Assert.That(mask, Has.Some.False.And.Some.True);
        // Whole samples are 0 exactly or x / (1 − p) up to the fp32 reciprocal's rounding (2^-23 relative).
        var expected = Enumerable.Range(0, x.Length).Select(i => mask[i / perSample] ? x[i] / (1.0 - p) : 0.0).ToArray();
        Compare.AssertClose(y.ToDoubles(), expected, "droppath.mask.out", Compare.OneRounding);
    }

    [Test]
    public void BackwardUsesTheForwardMaskAndAccumulates()
    {
        const int batch = 50, perSample = 21;
        const float p = 0.4f;
        var n = batch * perSample;
        var x = Inputs(n);
        var dy = Inputs(n, 3);
        var y = Forward(x, batch, perSample, p, Key);
        var device = TestDevices.Cpu;
        using var dyb = device.Upload(dy);
        using var dx = device.Allocate(n);
        dx.MemSetToZero();
        var dropPath = DropPath.For(device);
        dropPath.Backward(dx.View, dyb.View, batch, perSample, p, Key);
        var once = dx.Read();
        dropPath.Backward(dx.View, dyb.View, batch, perSample, p, Key);
        var twice = dx.Read();

        var expected = Enumerable.Range(0, n).Select(i => (double)dy[i] * y[i] / x[i]).ToArray();
        Assert.That(Enumerable.Range(0, n).Select(i => once[i] == 0), Is.EqualTo(y.Select(v => v == 0)));
        Compare.AssertClose(once.ToDoubles(), expected, "droppath.mask.dx", Compare.TwoRoundings);
        Assert.That(twice, Is.EqualTo(once.Select(v => 2 * v).ToArray()), "backward accumulates");
    }

    [Test]
    public void ZeroProbabilityIsTheIdentity()
    {
        const int batch = 10, perSample = 33;
        var x = Inputs(batch * perSample);
        var dy = Inputs(batch * perSample, 5);
        Assert.That(Forward(x, batch, perSample, 0f, Key), Is.EqualTo(x));
        var device = TestDevices.Cpu;
        using var dyb = device.Upload(dy);
        using var dx = device.Upload(Enumerable.Repeat(0.5f, x.Length).ToArray());
        DropPath.For(device).Backward(dx.View, dyb.View, batch, perSample, 0f, Key);
        Assert.That(dx.Read(), Is.EqualTo(dy.Select(v => 0.5f + v).ToArray()));
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        const int batch = 6, perSample = 3;
        const float p = 0.5f;
        var n = batch * perSample;
        var x = GradCheck.RandomDoubles(1, n);
        var dy = GradCheck.RandomDoubles(2, n);
        var device = TestDevices.Cpu;
        using var dyb = device.Upload(dy.ToFloats());
        using var dx = device.Allocate(n);
        dx.MemSetToZero();
        DropPath.For(device).Backward(dx.View, dyb.View, batch, perSample, p, Key);

        // With the key fixed, drop path is the linear map x ↦ x · mask(sample) / (1 − p).
        var numerical = GradCheck.Numerical(v => GradCheck.Dot(v.Select((xi, i) => Key.Uniform(i / perSample) >= p ? xi / (1 - p) : 0).ToArray(), dy), x);
        Assert.That(numerical, Has.Some.EqualTo(0.0).And.Some.Not.EqualTo(0.0), "the mask keeps some samples and drops others");
        Compare.AssertClose(dx.Read().ToDoubles(), numerical, "droppath.fd.dx", Compare.HostReference);
    }

    // Nonzero values of both signs, so a kept element is never mistaken for a dropped one.
    private static float[] Inputs(int n, int salt = 0)
        => Enumerable.Range(0, n).Select(i => (((i + salt) % 2 == 0) ? 1f : -1f) * (0.5f + ((i + salt) % 17 * 0.125f))).ToArray();

    private static float[] Forward(float[] x, int batch, int perSample, float p, RngKey key)
    {
        var device = TestDevices.Cpu;
        using var xb = device.Upload(x);
        using var y = device.Allocate(x.Length);
        DropPath.For(device).Forward(y.View, xb.View, batch, perSample, p, key);
        return y.Read();
    }
}
