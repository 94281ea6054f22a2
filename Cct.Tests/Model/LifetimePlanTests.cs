using Cct.Gpu.Model;

namespace Cct.Tests.Model;

/// <summary>
/// The liveness layout of the activation gradients (LifetimePlan, ModelGradients): tensors live at once never share
/// memory, tensors that are not may, and every preset's layout is within 1 % of the most that one phase holds.
/// </summary>
public sealed class LifetimePlanTests
{
    [Test]
    public void DisjointLifetimesShareMemoryAndMeetingOnesDoNot()
    {
        var plan = new LifetimePlan();
        plan.Request(10, 0, 1);
        plan.Request(5, 1, 2);
        plan.Request(10, 2, 3);
        plan.Lay();

        Assert.That((plan.Offset(0, 10), plan.Offset(1, 5), plan.Offset(2, 10)), Is.EqualTo((0L, 10L, 0L)), "the third reuses the first's place");
        Assert.That((plan.Length, plan.PeakLive), Is.EqualTo((15L, 15L)));
        Assert.That(plan.Births(1), Is.EqualTo(new[] { (10L, 5L) }));
    }

    [Test]
    public void BirthsOfOnePhaseThatTouchAreOneRange()
    {
        var plan = new LifetimePlan();
        plan.Request(4, 0, 0);
        plan.Request(6, 0, 1);
        plan.Request(3, 1, 1);
        plan.Lay();

        Assert.That(plan.Births(0), Is.EqualTo(new[] { (0L, 10L) }));
        Assert.That(plan.Births(1), Is.EqualTo(new[] { (0L, 3L) }), "the first is dead in phase 1");
    }

    [Test]
    public void RandomPlansNeverOverlapTensorsLiveAtOnce()
    {
        var random = new Random(11);
        for (var trial = 0; trial < 50; trial++)
        {
            var plan = new LifetimePlan();
            var requests = Enumerable.Range(0, 30).Select(_ =>
            {
                var born = random.Next(10);
                return (Size: (long)random.Next(1, 100), Born: born, Dies: born + random.Next(4));
            }).ToList();
            foreach (var r in requests)
            {
                plan.Request(r.Size, r.Born, r.Dies);
            }

            plan.Lay();
            for (var i = 0; i < requests.Count; i++)
            {
                for (var j = i + 1; j < requests.Count; j++)
                {
                    var (a, b) = (requests[i], requests[j]);
                    if (a.Born <= b.Dies && b.Born <= a.Dies)
                    {
                        var (oa, ob) = (plan.Offset(i, a.Size), plan.Offset(j, b.Size));
                        Assert.That(oa + a.Size <= ob || ob + b.Size <= oa, $"trial {trial}: tensors {i} and {j} are live at once and overlap");
                    }
                }
            }

            Assert.That(plan.Length, Is.GreaterThanOrEqualTo(plan.PeakLive));
        }
    }

    [Test]
    public void MisuseIsAClearError()
    {
        var plan = new LifetimePlan();
        Assert.Throws<ArgumentOutOfRangeException>(() => plan.Request(1, 2, 1));
        Assert.Throws<InvalidOperationException>(() => plan.Births(0));
        plan.Request(1, 0, 0);
        plan.Lay();
        Assert.Throws<InvalidOperationException>(() => plan.Request(1, 0, 0));
        Assert.Throws<InvalidOperationException>(() => plan.Offset(0, 2), "a size other than the one planned");
    }

    /// <summary>
    /// cct-2/3x2's gradients take 75,402 values an image where the consecutive layout took 257,290 (the block
    /// intermediates already shared, 2026-11-26); cct-7/3x1's 702,730 where it took 1,505,546. Within 1 % of the
    /// busiest phase (0.2 % for both), and one or two memsets a phase.
    /// </summary>
    [TestCase("cct-2/3x2")]
    [TestCase("cct-7/3x1")]
    [TestCase("seed")]
    [TestCase("cct-tiny")]
    public void EveryPresetsGradientsFitTheBusiestPhase(string preset)
    {
        var architecture = CctArchitecture.Of(CctConfig.Preset(preset));
        var plan = ModelGradients.Plan(architecture);
        var phases = ModelGradients.Phases(architecture);

        Assert.That(plan.Length, Is.InRange(plan.PeakLive, (long)(1.01 * plan.PeakLive)));
        Assert.That(Enumerable.Range(0, phases.Count).Select(p => plan.Births(p).Count), Has.All.InRange(1, 2));
    }
}
