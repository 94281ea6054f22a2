using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

/// <summary>
/// The fused attention against <see cref="Attention"/>'s item path (itself checked against PyTorch in
/// <see cref="AttentionTests"/>), on the simulator that runs the GPU kernels (and, in CI, on OpenCL). The bound is <see cref="Tolerance.Model"/>: the online softmax
/// and the 4-way partial sums reorder sums of up to T terms, a few fp32 ulps of each; a wrong index, mask or
/// rescale errs by O(|ref|).
/// </summary>
public sealed class FlashAttentionTests
{
    private static readonly RngKey Key = new(11, 2, 5);

    /// <summary>
    /// Head sizes 64, 32, 16 and 48 (four, two, one and three Float4 a thread); 49 and 70 tokens leave the last tile part-full, 7 fit in one,
    /// 196 (cct-7/3x1's) walk seven tiles. Backward runs twice into one dqkv, which must hold twice the gradient.
    /// </summary>
    [TestCase(2, 49, 128, 2, 0f)]
    [TestCase(2, 49, 128, 2, 0.1f)]
    [TestCase(1, 70, 96, 3, 0.3f)]
    [TestCase(3, 7, 32, 1, 0.2f)]
    [TestCase(1, 196, 64, 1, 0.1f)]
    [TestCase(4, 49, 32, 2, 0.1f)] // head size 16: one Float4 a thread
    [TestCase(1, 20, 96, 2, 0f)] // head size 48: three
    public void MatchesTheItemPath(int batch, int tokens, int channels, int heads, float p)
    {
        var shape = new AttentionShape(batch, tokens, channels, heads);
        var qkv = GradCheck.RandomDoubles(41, batch * tokens * 3 * channels, 2.0).ToFloats(); // scores of a few units
        var dout = GradCheck.RandomDoubles(42, batch * tokens * channels).ToFloats();
        var (expectedOutput, probabilities, expectedDqkv) = AttentionTests.RunCore(qkv, dout, shape, p, Key);
        var (output, logSumExp, dqkv) = RunFused(TestDevices.GpuKernelsCpu, qkv, dout, shape, p, backwardPasses: 2);
        Compare.AssertClose(output, expectedOutput, "flash_attention.output");
        Compare.AssertClose(dqkv, expectedDqkv.Select(v => 2 * v).ToArray(), "flash_attention.dqkv");
        Compare.AssertClose(logSumExp, HostLogSumExp(qkv, shape), "flash_attention.log_sum_exp", Compare.HostReference);
        Assert.That(probabilities, Has.Length.EqualTo(batch * heads * tokens * tokens), "the item path's matrix, which the fused path never stores");
    }

    /// <summary>The same inputs and key give the same bytes: every sum has a fixed order and nothing is atomic.</summary>
    [Test]
    public void IsBitIdenticalAcrossRuns()
    {
        var shape = new AttentionShape(2, 49, 128, 2);
        var qkv = GradCheck.RandomDoubles(43, 2 * 49 * 3 * 128, 2.0).ToFloats();
        var dout = GradCheck.RandomDoubles(44, 2 * 49 * 128).ToFloats();
        var first = RunFused(TestDevices.GpuKernelsCpu, qkv, dout, shape, 0.1f, 1);
        var again = RunFused(TestDevices.GpuKernelsCpu, qkv, dout, shape, 0.1f, 1);
        Assert.That(again.Output, Is.EqualTo(first.Output).AsCollection);
        Assert.That(again.Dqkv, Is.EqualTo(first.Dqkv).AsCollection);
    }

    [TestCase(24, 2)] // head size 12: not a multiple of 16
    [TestCase(256, 2)] // head size 128: past the register layout
    public void RejectsHeadSizesItCannotHold(int channels, int heads)
    {
        var shape = new AttentionShape(1, 7, channels, heads);
        Assert.That(FlashAttention.Supports(shape), Is.False);
        var device = TestDevices.GpuKernelsCpu;
        using var buffer = device.Allocate(7 * 3 * channels);
        var e = Assert.Throws<ArgumentException>(() => FlashAttention.For(device).Forward(buffer.View, buffer.View, buffer.View, shape, 0f, Key));
        Assert.That(e!.Message, Does.Contain("multiple of 16"));
    }

    /// <summary>
    /// Backward's scratch holds the row dots (B, H, T) and the score gradients (B, H, T, T); one float short is refused
    /// in one line before anything runs, and dqkv is left as it was.
    /// </summary>
    [Test]
    public void RefusesScratchTooSmallForTheScoreGradients()
    {
        var shape = new AttentionShape(2, 49, 128, 2);
        Assert.That(FlashAttention.ScratchLength(shape), Is.EqualTo(2L * 2 * 49 * 50));
        var device = TestDevices.GpuKernelsCpu;
        using var qkv = device.Upload(GradCheck.RandomDoubles(45, 2 * 49 * 3 * 128).ToFloats());
        using var activations = device.Allocate(2 * 49 * 128);
        using var logSumExp = device.Allocate(2 * 2 * 49);
        using var scratch = device.Allocate(FlashAttention.ScratchLength(shape) - 1);
        using var dqkv = device.Allocate(2 * 49 * 3 * 128);
        dqkv.MemSetToZero();
        var e = Assert.Throws<ArgumentException>(() => FlashAttention.For(device).Backward(dqkv.View, scratch.View, activations.View, qkv.View, activations.View, logSumExp.View, shape, 0f, Key));
        Assert.That(e!.Message, Does.Contain("scratch").And.Not.Contain("\n"));
        Assert.That(dqkv.Read().All(v => v == 0f), Is.True);
    }

    private static (float[] Output, float[] LogSumExp, float[] Dqkv) RunFused(ComputeDevice device, float[] qkvValues, float[] doutValues, AttentionShape shape, float p, int backwardPasses)
    {
        var flash = FlashAttention.For(device);
        var rows = shape.Batch * shape.Heads * shape.Tokens;
        using var qkv = device.Upload(qkvValues);
        using var dout = device.Upload(doutValues);
        using var output = device.Allocate(doutValues.Length);
        using var logSumExp = device.Allocate(rows);
        using var scratch = device.Allocate(FlashAttention.ScratchLength(shape));
        using var dqkv = device.Allocate(qkvValues.Length);
        dqkv.MemSetToZero();
        flash.Forward(output.View, logSumExp.View, qkv.View, shape, p, Key);
        for (var pass = 0; pass < backwardPasses; pass++)
        {
            flash.Backward(dqkv.View, scratch.View, dout.View, qkv.View, output.View, logSumExp.View, shape, p, Key);
        }

        return (output.Read(), logSumExp.Read(), dqkv.Read());
    }

    // log Σ_j exp(q_i·k_j / sqrt(hs)) per (b, h, i), in float64.
    private static float[] HostLogSumExp(float[] qkv, AttentionShape s)
    {
        var (t, c, hs) = (s.Tokens, s.Channels, s.HeadSize);
        var result = new float[s.Batch * s.Heads * t];
        for (var b = 0; b < s.Batch; b++)
        {
            for (var h = 0; h < s.Heads; h++)
            {
                for (var i = 0; i < t; i++)
                {
                    var scores = new double[t];
                    for (var j = 0; j < t; j++)
                    {
                        double dot = 0;
                        for (var d = 0; d < hs; d++)
                        {
                            dot += (double)qkv[(((b * t) + i) * 3 * c) + (h * hs) + d] * qkv[(((b * t) + j) * 3 * c) + c + (h * hs) + d];
                        }

                        scores[j] = dot / Math.Sqrt(hs);
                    }

                    var max = scores.Max();
                    result[(((b * s.Heads) + h) * t) + i] = (float)(max + Math.Log(scores.Sum(x => Math.Exp(x - max))));
                }
            }
        }

        return result;
    }
}
