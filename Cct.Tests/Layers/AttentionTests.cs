using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

public sealed class AttentionTests
{
    private static readonly RngKey NoKey = default;

    private static IEnumerable<string> Cases => Fixture.CasesOf("attention");

    private static IEnumerable<string> ModuleCases => Fixture.CasesOf("mhsa");

    [TestCaseSource(nameof(Cases))]
    public void CoreMatchesPyTorch(string @case)
    {
        var fixture = Fixture.Load("attention");
        var shape = ShapeOf(fixture, @case, "qkv");
        var (output, probabilities, dqkv) = RunCore(fixture.Floats(@case, "qkv"), fixture.Floats(@case, "dout"), shape, 0f, NoKey);
        Compare.AssertClose(output, fixture.Floats(@case, "out"), $"attention.{@case}.out");
        Compare.AssertClose(probabilities, fixture.Floats(@case, "probabilities"), $"attention.{@case}.probabilities");
        Compare.AssertClose(dqkv, fixture.Floats(@case, "dqkv"), $"attention.{@case}.dqkv");
    }

    /// <summary>The GPU path (batched shared-memory GEMMs and row kernels) on the simulator that runs the GPU kernels.</summary>
    [TestCaseSource(nameof(Cases))]
    public void BatchedGemmPathMatchesPyTorch(string @case)
    {
        var fixture = Fixture.Load("attention");
        var shape = ShapeOf(fixture, @case, "qkv");
        var (output, probabilities, dqkv) = RunCore(fixture.Floats(@case, "qkv"), fixture.Floats(@case, "dout"), shape, 0f, NoKey, device: TestDevices.GpuKernelsCpu);
        Compare.AssertClose(output, fixture.Floats(@case, "out"), $"attention.batched.{@case}.out");
        Compare.AssertClose(probabilities, fixture.Floats(@case, "probabilities"), $"attention.batched.{@case}.probabilities");
        Compare.AssertClose(dqkv, fixture.Floats(@case, "dqkv"), $"attention.batched.{@case}.dqkv");
    }

    /// <summary>
    /// The OpenCL-CPU path against the item path (itself checked against PyTorch above), with dropout: the same key
    /// gives the same outputs and gradients. Head sizes of 32 or more run the register-tile products over head-major
    /// copies; 33 leaves each product's second 32-lane tile one column wide, so its overrun reads the buffers'
    /// padding; 12 takes the item kernels. Backward runs twice into one dqkv, which must hold twice the gradient.
    /// </summary>
    [TestCase(7, 64, 2)]
    [TestCase(37, 99, 3)]
    [TestCase(49, 128, 2)]
    [TestCase(49, 24, 2)]
    public void RegisterTilePathWithDropoutMatchesCpuPath(int tokens, int channels, int heads)
    {
        var shape = new AttentionShape(3, tokens, channels, heads);
        var key = new RngKey(11, 2, 5);
        var qkv = GradCheck.RandomDoubles(41, shape.Batch * shape.Tokens * 3 * shape.Channels, 2.0).ToFloats();
        var dout = GradCheck.RandomDoubles(42, shape.Batch * shape.Tokens * shape.Channels).ToFloats();
        var cpu = RunCore(qkv, dout, shape, 0.3f, key);
        var tiles = RunCore(qkv, dout, shape, 0.3f, key, device: TestDevices.RegisterTilesCpu, backwardPasses: 2);
        Compare.AssertClose(tiles.Output, cpu.Output, "attention.register_tiles_dropout.out");
        Compare.AssertClose(tiles.Probabilities, cpu.Probabilities, "attention.register_tiles_dropout.probabilities");
        Compare.AssertClose(tiles.Dqkv, cpu.Dqkv.Select(v => 2 * v).ToArray(), "attention.register_tiles_dropout.dqkv");
    }

    /// <summary>
    /// The GPU path draws the CPU path's dropout masks: same key, same outputs and gradients. 37 tokens are more
    /// than a simulator warp's 16 lanes, so each lane of the row kernels takes several elements, and 222 rows leave
    /// the last group of 8 warps part-empty.
    /// </summary>
    [TestCase(7, 8, 2)]
    [TestCase(37, 12, 3)]
    public void BatchedGemmPathWithDropoutMatchesCpuPath(int tokens, int channels, int heads)
    {
        var shape = new AttentionShape(2, tokens, channels, heads);
        var key = new RngKey(11, 2, 5);
        var qkv = GradCheck.RandomDoubles(41, shape.Batch * shape.Tokens * 3 * shape.Channels, 2.0).ToFloats();
        var dout = GradCheck.RandomDoubles(42, shape.Batch * shape.Tokens * shape.Channels).ToFloats();
        var cpu = RunCore(qkv, dout, shape, 0.3f, key);
        var gpu = RunCore(qkv, dout, shape, 0.3f, key, device: TestDevices.GpuKernelsCpu);
        Compare.AssertClose(gpu.Output, cpu.Output, "attention.batched_dropout.out");
        Compare.AssertClose(gpu.Probabilities, cpu.Probabilities, "attention.batched_dropout.probabilities");
        Compare.AssertClose(gpu.Dqkv, cpu.Dqkv, "attention.batched_dropout.dqkv");
    }

    /// <summary>The CCT Attention module: qkv Linear (no bias), the core, proj Linear (bias), forward and the backward chain.</summary>
    [TestCaseSource(nameof(ModuleCases))]
    public void ModuleMatchesPyTorch(string @case)
    {
        var fixture = Fixture.Load("mhsa");
        var shape = ShapeOf(fixture, @case, "x");
        var (rows, c) = (shape.Batch * shape.Tokens, shape.Channels);
        var device = TestDevices.Cpu;
        var linear = Linear.For(device);
        var attention = Attention.For(device);
        using var x = device.Upload(fixture.Floats(@case, "x"));
        using var wqkv = device.Upload(fixture.Floats(@case, "qkv_weight"));
        using var wproj = device.Upload(fixture.Floats(@case, "proj_weight"));
        using var bproj = device.Upload(fixture.Floats(@case, "proj_bias"));
        using var dout = device.Upload(fixture.Floats(@case, "dout"));
        using var qkv = device.Allocate(rows * 3 * c);
        using var att = device.Allocate(rows * c);
        using var probabilities = device.Allocate(shape.Batch * shape.Heads * shape.Tokens * shape.Tokens);
        using var output = device.Allocate(rows * c);
        using var dx = device.Allocate(rows * c);
        using var dwqkv = device.Allocate(3 * c * c);
        using var dqkv = device.Allocate(rows * 3 * c);
        using var datt = device.Allocate(rows * c);
        using var dprobabilities = device.Allocate(probabilities.Length);
        using var dwproj = device.Allocate(c * c);
        using var dbproj = device.Allocate(c);
        foreach (var gradient in new[] { dx, dwqkv, dqkv, datt, dwproj, dbproj })
        {
            gradient.MemSetToZero();
        }

        linear.Forward(qkv.View, x.View, new WeightAndBias(wqkv.View, wqkv.View), false, rows, c, 3 * c);
        attention.Forward(att.View, new AttentionTensors(qkv.View, probabilities.View), shape, 0f, NoKey);
        linear.Forward(output.View, att.View, new WeightAndBias(wproj.View, bproj.View), true, rows, c, c);
        linear.Backward(datt.View, new WeightAndBiasGradients(dwproj.View, dbproj.View), dout.View, att.View, wproj.View, true, rows, c, c);
        attention.Backward(new AttentionTensorGradients(dqkv.View, dprobabilities.View), datt.View, new AttentionTensors(qkv.View, probabilities.View), shape, 0f, NoKey);
        linear.Backward(dx.View, new WeightAndBiasGradients(dwqkv.View, dwqkv.View), dqkv.View, x.View, wqkv.View, false, rows, c, 3 * c);

        Compare.AssertClose(output.Read(), fixture.Floats(@case, "out"), $"mhsa.{@case}.out");
        Compare.AssertClose(dqkv.Read(), fixture.Floats(@case, "dqkv"), $"mhsa.{@case}.dqkv");
        Compare.AssertClose(dx.Read(), fixture.Floats(@case, "dx"), $"mhsa.{@case}.dx");
        Compare.AssertClose(dwqkv.Read(), fixture.Floats(@case, "dqkv_weight"), $"mhsa.{@case}.dqkv_weight");
        Compare.AssertClose(dwproj.Read(), fixture.Floats(@case, "dproj_weight"), $"mhsa.{@case}.dproj_weight");
        Compare.AssertClose(dbproj.Read(), fixture.Floats(@case, "dproj_bias"), $"mhsa.{@case}.dproj_bias");
    }

    [Test]
    public void BackwardMatchesFiniteDifferences() => CheckFiniteDifferences(0f, NoKey, "attention.fd.dqkv");

    /// <summary>With the key fixed the mask is a constant, so the dropped-out attention is a smooth function of qkv.</summary>
    [Test]
    public void BackwardWithDropoutMatchesFiniteDifferences()
    {
        var shape = TinyShape;
        var key = new RngKey(11, 2, 5);
        const float p = 0.3f;
        var kept = Enumerable.Range(0, shape.Batch * shape.Heads * shape.Tokens * shape.Tokens).Count(i => key.Uniform(i) >= p);
        Assert.That(kept, Is.InRange(1, (shape.Batch * shape.Heads * shape.Tokens * shape.Tokens) - 1), "the key must drop some elements and keep others");
        CheckFiniteDifferences(p, key, "attention.fd_dropout.dqkv");
    }

    [Test]
    public void BackwardAccumulatesIntoGradients()
    {
        var fixture = Fixture.Load("attention");
        const string c = "odd";
        var shape = ShapeOf(fixture, c, "qkv");
        var device = TestDevices.Cpu;
        var attention = Attention.For(device);
        using var qkv = device.Upload(fixture.Floats(c, "qkv"));
        using var dout = device.Upload(fixture.Floats(c, "dout"));
        using var probabilities = device.Upload(fixture.Floats(c, "probabilities"));
        using var dprobabilities = device.Allocate(probabilities.Length);
        using var dqkv = device.Allocate(qkv.Length);
        dqkv.MemSetToZero();
        for (var i = 0; i < 2; i++)
        {
            attention.Backward(new AttentionTensorGradients(dqkv.View, dprobabilities.View), dout.View, new AttentionTensors(qkv.View, probabilities.View), shape, 0f, NoKey);
        }

        Compare.AssertClose(dqkv.Read(), fixture.Floats(c, "dqkv").Select(v => 2 * v).ToArray(), "attention.accumulate.dqkv");
    }

    [Test]
    public void DropoutForwardIsReproducibleWithTheSameKey()
    {
        var fixture = Fixture.Load("attention");
        const string c = "odd";
        var shape = ShapeOf(fixture, c, "qkv");
        var qkv = fixture.Floats(c, "qkv");
        var dout = fixture.Floats(c, "dout");
        var key = new RngKey(3, 1, 7);
        var first = RunCore(qkv, dout, shape, 0.2f, key);
        var again = RunCore(qkv, dout, shape, 0.2f, key);
        var nextStep = RunCore(qkv, dout, shape, 0.2f, key with { Step = 8 });
        Assert.That(again.Output, Is.EqualTo(first.Output).AsCollection, "same key, same output");
        Assert.That(again.Dqkv, Is.EqualTo(first.Dqkv).AsCollection, "same key, same gradient");
        Assert.That(nextStep.Output, Is.Not.EqualTo(first.Output).AsCollection, "another step draws another mask");
        Compare.AssertClose(first.Probabilities, fixture.Floats(c, "probabilities"), "attention.dropout.probabilities_saved_before_dropout");
    }

    /// <summary>
    /// With v = identity (head size = T) the output row is the dropped-out probability row itself. Every element
    /// must be an exact zero where key.Uniform(i) &lt; p and p / (1 − p) elsewhere, and the zero rate must lie within
    /// 5 standard deviations sqrt(p(1 − p) / n) of p (n = 4096, so |rate − p| ≤ 0.034; a false alarm has odds ~1e-6).
    /// </summary>
    [Test]
    public void DropoutZeroesElementsAtRateNearP()
    {
        const float p = 0.25f;
        var shape = new AttentionShape(4, 32, 32, 1);
        var (t, c) = (shape.Tokens, shape.Channels);
        var qkv = GradCheck.RandomDoubles(21, shape.Batch * t * 3 * c).ToFloats();
        for (var bt = 0; bt < shape.Batch * t; bt++)
        {
            for (var d = 0; d < c; d++)
            {
                qkv[(bt * 3 * c) + (2 * c) + d] = d == bt % t ? 1f : 0f;
            }
        }

        var key = new RngKey(5, 9, 1);
        var (output, probabilities, _) = RunCore(qkv, new float[shape.Batch * t * c], shape, p, key);
        var expected = probabilities.Select((v, i) => key.Uniform(i) >= p ? v / (1f - p) : 0f).ToArray();
        Assert.That(output.Select(v => v == 0f).ToArray(), Is.EqualTo(expected.Select(v => v == 0f).ToArray()).AsCollection, "exact zeros exactly where the mask drops");
        Compare.AssertClose(output, expected, "attention.dropout.dropped_probabilities");
        var rate = output.Count(v => v == 0f) / (double)output.Length;
        Assert.That(rate, Is.EqualTo(p).Within(5 * Math.Sqrt(p * (1 - p) / output.Length)));
    }

    private static AttentionShape TinyShape => new(2, 3, 4, 2);

    private static void CheckFiniteDifferences(float p, RngKey key, string what)
    {
        var shape = TinyShape;
        var qkv = GradCheck.RandomDoubles(31, shape.Batch * shape.Tokens * 3 * shape.Channels, 2.0);
        var dout = GradCheck.RandomDoubles(32, shape.Batch * shape.Tokens * shape.Channels);
        var (output, _, dqkv) = RunCore(qkv.ToFloats(), dout.ToFloats(), shape, p, key);
        Compare.AssertClose(output.ToDoubles(), HostForward(qkv, shape, p, key), what + ".forward", Tolerance.Model);
        var numerical = GradCheck.Numerical(v => GradCheck.Dot(HostForward(v, shape, p, key), dout), qkv);
        Compare.AssertClose(dqkv.ToDoubles(), numerical, what, Compare.HostReference);
    }

    /// <summary>Forward, then <paramref name="backwardPasses"/> backward passes into a zeroed dqkv, on <paramref name="device"/> (the simulator's item kernels by default).</summary>
    internal static (float[] Output, float[] Probabilities, float[] Dqkv) RunCore(float[] qkvValues, float[] doutValues, AttentionShape shape, float p, RngKey key, ComputeDevice? device = null, int backwardPasses = 1)
    {
        device ??= TestDevices.Cpu;
        var attention = Attention.For(device);
        using var qkv = device.Upload(qkvValues);
        using var dout = device.Upload(doutValues);
        using var output = device.Allocate(doutValues.Length);
        using var probabilities = device.Allocate(shape.Batch * shape.Heads * shape.Tokens * shape.Tokens);
        using var dprobabilities = device.Allocate(probabilities.Length);
        using var dqkv = device.Allocate(qkvValues.Length);
        dqkv.MemSetToZero();
        attention.Forward(output.View, new AttentionTensors(qkv.View, probabilities.View), shape, p, key);
        for (var pass = 0; pass < backwardPasses; pass++)
        {
            attention.Backward(new AttentionTensorGradients(dqkv.View, dprobabilities.View), dout.View, new AttentionTensors(qkv.View, probabilities.View), shape, p, key);
        }

        return (output.Read(), probabilities.Read(), dqkv.Read());
    }

    private static AttentionShape ShapeOf(Fixture fixture, string @case, string input)
    {
        var dims = fixture.Shape(@case, input);
        var channels = input == "qkv" ? dims[2] / 3 : dims[2];
        return new AttentionShape(dims[0], dims[1], channels, fixture.Ints(@case, "heads")[0]);
    }

    /// <summary>Plain double-precision attention with the same mask rule (kept iff key.Uniform(i) ≥ p, scaled by 1 / (1 − p)).</summary>
    private static double[] HostForward(double[] qkv, AttentionShape s, float p, RngKey key)
    {
        var (t, c, hs) = (s.Tokens, s.Channels, s.HeadSize);
        var keepScale = (double)(1f / (1f - p));
        var y = new double[s.Batch * t * c];
        var row = new double[t];
        for (var b = 0; b < s.Batch; b++)
        {
            for (var h = 0; h < s.Heads; h++)
            {
                for (var t1 = 0; t1 < t; t1++)
                {
                    for (var t2 = 0; t2 < t; t2++)
                    {
                        double dot = 0;
                        for (var d = 0; d < hs; d++)
                        {
                            dot += qkv[((b * t + t1) * 3 * c) + (h * hs) + d] * qkv[((b * t + t2) * 3 * c) + c + (h * hs) + d];
                        }

                        row[t2] = dot / Math.Sqrt(hs);
                    }

                    var max = row.Max();
                    var sum = row.Sum(v => Math.Exp(v - max));
                    for (var t2 = 0; t2 < t; t2++)
                    {
                        var index = (((b * s.Heads + h) * t + t1) * t) + t2;
                        var a = key.Uniform(index) >= p ? Math.Exp(row[t2] - max) / sum * keepScale : 0;
                        for (var d = 0; d < hs; d++)
                        {
                            y[((b * t + t1) * c) + (h * hs) + d] += a * qkv[((b * t + t2) * 3 * c) + (2 * c) + (h * hs) + d];
                        }
                    }
                }
            }
        }

        return y;
    }
}
