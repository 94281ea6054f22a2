using System.Globalization;
using Cct.Gpu.Layers;
using Cct.Gpu.Optimizer;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Optimizer;

public sealed class AdamWTests
{
    // One step moves a parameter of size ~1 by ~lr = 1e-3 and decays it by lr·wd = 5e-5, so the
    // default bound (~1e-4 for such values) would hide a wrong decay. fp32 carries parameters to
    // ~1e-7 and five steps add a few roundings each, so 2e-6 + 2e-6·|ref| still passes a correct kernel.
    private static readonly Tolerance Parameters = new("adamw parameters", 2e-6, 2e-6);

    // The first moment β1·m + (1 − β1)·g cancels where m and g have opposite signs, leaving fp32
    // rounding of its terms (up to ~1, so ~1e-7) on a small result; 1e-6 absolute covers that and
    // still sees any wrong coefficient on moments of ~1e-2 to 1. The second moment sums non-negative
    // terms (no cancellation) down to ~1e-17 from the tiny gradients, so it is compared relatively.
    private static readonly Tolerance FirstMoment = Tolerance.Model with { Name = "adamw first moment", Atol = 1e-6 };
    private static readonly Tolerance SecondMoment = Tolerance.Model with { Name = "adamw second moment", Atol = 1e-12 };

    // The hand-worked step below: values of ~0.1 to 4 from a few operations, so a few ulps (~1e-6 relative) plus
    // 1e-6 absolute (1e-7 for the moments, which are exact sums of small binary fractions) still sees a wrong term.
    private static readonly Tolerance HandParameters = new("adamw hand step", 1e-6, 1e-6);
    private static readonly Tolerance HandMoments = new("adamw hand moments", 1e-7, 1e-6);

    private static IEnumerable<string> Cases => Fixture.CasesOf("adamw");

    [TestCaseSource(nameof(Cases))]
    public void FiveStepsMatchPyTorch(string @case)
    {
        var fixture = Fixture.Load("adamw");
        var device = TestDevices.Cpu;
        var layout = Layout(fixture.Meta($"{@case}.layout"));
        var settings = Settings(fixture.Meta($"{@case}.settings"));
        var steps = int.Parse(fixture.Meta("steps"), CultureInfo.InvariantCulture);
        var n = (int)layout.TotalLength;
        using var set = new ParameterSet(device, layout);
        var initial = fixture.Floats(@case, "params0");
        var grads = fixture.Floats(@case, "grads");
        foreach (var slot in layout.Slots)
        {
            set.WriteValue(slot.Name, initial.AsSpan((int)slot.Offset, (int)slot.Length).ToArray());
        }

        Assert.That(fixture.Shape(@case, "grads"), Is.EqualTo(new[] { steps, n }));
        var adamW = AdamW.For(device);
        for (var t = 1; t <= steps; t++)
        {
            set.Gradients.View.CopyFromCPU(grads.AsSpan((t - 1) * n, n).ToArray());
            adamW.Step(set.Values.View, set.FirstMoment.View, set.SecondMoment.View, set.Gradients.View, settings, t);
            var label = $"adamw.{@case}.step{t}";
            Compare.AssertClose(set.Values.Read(), Row(fixture, @case, "params", t, n), $"{label}.params", Parameters);
            Compare.AssertClose(set.FirstMoment.Read(), Row(fixture, @case, "exp_avg", t, n), $"{label}.exp_avg", FirstMoment);
            Compare.AssertClose(set.SecondMoment.Read(), Row(fixture, @case, "exp_avg_sq", t, n), $"{label}.exp_avg_sq", SecondMoment);
        }

        // Each tensor's slice of the flat buffer is that tensor (the layout puts them back to back).
        var last = Row(fixture, @case, "params", steps, n);
        foreach (var slot in layout.Slots)
        {
            Compare.AssertClose(set.ReadValue(slot.Name), last.AsSpan((int)slot.Offset, (int)slot.Length).ToArray(), $"adamw.{@case}.{slot.Name}", Parameters);
        }
    }

    /// <summary>
    /// Step 2 from given moments, with β1 = 0.5 and β2 = 0.6 so that 1 − β1² = 0.75 and √(1 − β2²) = 0.8,
    /// and lr = wd = 0.1 (decay factor 0.99). Element 0: g = 1, m = 0.5, v = 1 → m = 0.75, v = 1,
    /// m̂ = 1, √v̂ = 1.25, p = 0.99·1 − 0.1·0.8 = 0.91. Element 1: g = −2, m = −1, v = 4 → m = −1.5,
    /// v = 4, m̂ = −2, √v̂ = 2.5, p = 0.99·(−2) + 0.08 = −1.9. Element 2: g = 0, m = 0.225, v = 0.15 →
    /// m = 0.1125, v = 0.09, m̂ = 0.15, √v̂ = 0.375, p = 0.99·0.5 − 0.1·0.4 = 0.455. ε = 1e-8 is below fp32 resolution here.
    /// </summary>
    [Test]
    public void HandComputedStep()
    {
        var device = TestDevices.Cpu;
        using var p = device.Upload([1f, -2f, 0.5f]);
        using var m = device.Upload([0.5f, -1f, 0.225f]);
        using var v = device.Upload([1f, 4f, 0.15f]);
        using var g = device.Upload([1f, -2f, 0f]);
        AdamW.For(device).Step(p.View, m.View, v.View, g.View, new AdamWSettings(0.1f, 0.5f, 0.6f, 1e-8f, 0.1f), step: 2);
        Compare.AssertClose(p.Read(), [0.91f, -1.9f, 0.455f], "adamw.hand.params", HandParameters);
        Compare.AssertClose(m.Read(), [0.75f, -1.5f, 0.1125f], "adamw.hand.exp_avg", HandMoments);
        Compare.AssertClose(v.Read(), [1f, 4f, 0.09f], "adamw.hand.exp_avg_sq", HandMoments);
    }

    [Test]
    public void AdamSettingsHaveNoWeightDecay()
    {
        var adam = AdamWSettings.Adam(1e-3f);
        Assert.That(adam, Is.EqualTo(new AdamWSettings(1e-3f, 0.9f, 0.999f, 1e-8f, 0f)));
    }

    [Test]
    public void RejectsStepZeroAndMismatchedLengths()
    {
        var device = TestDevices.Cpu;
        using var four = device.Allocate(4);
        using var three = device.Allocate(3);
        var adamW = AdamW.For(device);
        var settings = new AdamWSettings(1e-3f, 0.9f, 0.999f, 1e-8f, 0.05f);
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => adamW.Step(four.View, four.View, four.View, four.View, settings, 0));
            Assert.Throws<ArgumentException>(() => adamW.Step(four.View, four.View, three.View, four.View, settings, 1));
        });
    }

    private static float[] Row(Fixture fixture, string @case, string tensor, int step, int n)
        => fixture.Floats(@case, tensor).AsSpan((step - 1) * n, n).ToArray();

    // "weight:37x27;bias:1", in the order the generator flattened the torch tensors.
    private static TensorLayout Layout(string text)
    {
        var layout = new TensorLayout();
        foreach (var entry in text.Split(';'))
        {
            var parts = entry.Split(':');
            layout.Add(parts[0], parts[1].Split('x').Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToArray());
        }

        return layout;
    }

    // "lr,beta1,beta2,eps,weight_decay".
    private static AdamWSettings Settings(string text)
    {
        var v = text.Split(',').Select(s => float.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        return new AdamWSettings(v[0], v[1], v[2], v[3], v[4]);
    }
}
