using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Model;

/// <summary>
/// <see cref="CctModel.AttentionMaps"/> on a tiny official CCT (8×8 image, one conv, 16 tokens) with hand-set
/// weights. Zero convolution weights make the tokens the positional embedding alone, and zero output
/// projections (attention proj, MLP linear2) make each block the identity on the residual stream while its
/// attention is still computed, so the expected maps follow in closed form on the host. (Each official block
/// still applies norm1 to the stream, so the pooled tokens are the embedding after layers + 1 LayerNorms.)
/// </summary>
public sealed class AttentionMapTests
{
    // Float32 sums of at most 16 tokens x 2 heads x 2 blocks of values in [0, 1]: rounding stays near 1e-7.
    private const float Tolerance = 1e-5f;

    private static CctConfig Tiny(int layers, PoolingKind pooling) => new()
    {
        ImageSize = 8,
        ConvLayers = 1,
        Layers = layers,
        Heads = 2,
        Dim = 8,
        MlpRatio = 1,
        Classes = 3,
        Pooling = pooling,
    };

    [Test]
    public void PoolingMapIsTheSoftmaxOfThePoolingLogitsAndSumsToOne()
    {
        var config = Tiny(2, PoolingKind.Seq);
        using var model = Build(config, zeroQkv: false);
        var map = model.AttentionMaps(new float[2 * 64])[1];

        // Tokens are the positional embedding; each block's norm1 and the final LayerNorm (weight 1, bias 0)
        // normalise it, then the pooling logits.
        var position = model.Parameters.ReadValue("classifier.positional_emb");
        var w = model.Parameters.ReadValue("classifier.attention_pool.weight");
        var bias = model.Parameters.ReadValue("classifier.attention_pool.bias")[0];
        var logits = Enumerable.Range(0, config.Tokens).Select(t =>
        {
            var x = position.AsSpan(t * config.Dim, config.Dim).ToArray().Select(v => (double)v).ToArray();
            for (var norm = 0; norm <= config.Layers; norm++)
            {
                var mean = x.Average();
                var rstd = 1 / Math.Sqrt(x.Select(v => (v - mean) * (v - mean)).Average() + 1e-5);
                x = x.Select(v => (v - mean) * rstd).ToArray();
            }

            return x.Select((v, d) => v * w[d]).Sum() + bias;
        }).ToArray();
        var max = logits.Max();
        var expected = logits.Select(l => Math.Exp(l - max)).ToArray();
        var sum = expected.Sum();

        Assert.That(map.GridSide, Is.EqualTo(4));
        Assert.That(map.Pooling, Is.EqualTo(expected.Select(e => (float)(e / sum))).Within(Tolerance));
        Assert.That(map.Pooling.Sum(), Is.EqualTo(1f).Within(Tolerance));
        Assert.That(map.Pooling.Max() - map.Pooling.Min(), Is.GreaterThan(0.01f), "random embeddings should not pool uniformly");
        Assert.That(map.Probabilities.Sum(), Is.EqualTo(1f).Within(Tolerance));
    }

    [Test]
    public void UniformAttentionWithMeanPoolingRollsOutUniformly()
    {
        // Zero q and k: every score is 0, so each head attends uniformly.
        var config = Tiny(1, PoolingKind.Mean);
        using var model = Build(config, zeroQkv: true);
        var map = model.AttentionMaps(new float[64])[0];
        Assert.That(map.Pooling, Is.All.EqualTo(1f / 16).Within(Tolerance));
        Assert.That(map.Rollout, Is.All.EqualTo(1f / 16).Within(Tolerance));
    }

    [Test]
    public void UniformAttentionHalvesThePoolingWeightsTowardsUniform()
    {
        // One block, Â = ½ (1/T + I): w · Â = ½ / T + ½ w.
        var config = Tiny(1, PoolingKind.Seq);
        using var model = Build(config, zeroQkv: true);
        var map = model.AttentionMaps(new float[64])[0];
        Assert.That(map.Rollout, Is.EqualTo(map.Pooling.Select(w => (0.5f / 16) + (0.5f * w))).Within(Tolerance));
    }

    [Test]
    public void RolloutIsThePoolingWeightsTimesTheProductOfTheBlocksAttention()
    {
        var config = Tiny(2, PoolingKind.Seq);
        using var model = Build(config, zeroQkv: false, zeroTokenizer: false);
        var random = new Random(3);
        var images = Enumerable.Range(0, 3 * 64).Select(_ => (float)random.NextDouble()).ToArray();
        var maps = model.AttentionMaps(images);

        // Three images run as batches of 2 and 1 (MaxBatch 2); the last batch's attention is still on the device.
        Assert.That(maps, Has.Count.EqualTo(3));
        Assert.That(maps[2].Rollout, Is.Not.EqualTo(maps[1].Rollout), "different images should give different maps");
        // v ← v · ½ (mean_h P_j + I), from the last block to the first, in double on the host.
        var t = config.Tokens;
        var last = maps[2];
        var v = last.Pooling.Select(x => (double)x).ToArray();
        for (var j = config.Layers - 1; j >= 0; j--)
        {
            var probabilities = new float[config.Heads * t * t]; // (1, H, T, T)
            using (var onDevice = TestDevices.Cpu.Allocate(probabilities.Length))
            using (var mixed = TestDevices.Cpu.Allocate(t * config.Dim))
            {
                model.AttentionProbabilities(j, 1, onDevice.View, mixed.View);
                onDevice.View.CopyToCPU(probabilities);
            }

            var next = new double[t];
            for (var s = 0; s < t; s++)
            {
                next[s] = 0.5 * v[s];
                for (var r = 0; r < t; r++)
                {
                    var mean = Enumerable.Range(0, config.Heads).Average(h => (double)probabilities[(((h * t) + r) * t) + s]);
                    next[s] += 0.5 * v[r] * mean;
                }
            }

            v = next;
        }

        Assert.That(last.Rollout, Is.EqualTo(v.Select(x => (float)x)).Within(Tolerance));
        Assert.That(last.Rollout.Sum(), Is.EqualTo(1f).Within(Tolerance));
    }

    [Test]
    public void TheGpuKernelsGiveTheSameMaps()
    {
        // The GPU path on the simulator: a width of 32 gives heads of 16, so the model trains with fused attention and
        // the maps recompute the probabilities from qkv on the batched GEMMs and warp softmax rows; its products sum
        // in another order, so the maps agree to float rounding, not bit for bit.
        var config = Tiny(2, PoolingKind.Seq) with { Dim = 32 };
        var random = new Random(4);
        var images = Enumerable.Range(0, 2 * 64).Select(_ => (float)random.NextDouble()).ToArray();
        using var cpu = Build(config, zeroQkv: false, zeroTokenizer: false);
        using var gpu = Build(config, zeroQkv: false, zeroTokenizer: false, TestDevices.GpuKernelsCpu);
        var expected = cpu.AttentionMaps(images);
        var actual = gpu.AttentionMaps(images);
        for (var b = 0; b < 2; b++)
        {
            Assert.That(actual[b].Pooling, Is.EqualTo(expected[b].Pooling).Within(Tolerance));
            Assert.That(actual[b].Rollout, Is.EqualTo(expected[b].Rollout).Within(Tolerance));
        }
    }

    [Test]
    public void ImagesOfTheWrongSizeAreRefused()
    {
        using var model = Build(Tiny(1, PoolingKind.Seq), zeroQkv: true);
        Assert.That(() => model.AttentionMaps(new float[65]), Throws.ArgumentException.With.Message.Contains("1×8×8"));
    }

    private static CctModel Build(CctConfig config, bool zeroQkv, bool zeroTokenizer = true, ComputeDevice? device = null)
    {
        var model = new CctModel(device ?? TestDevices.Cpu, config, 2);
        model.Initialize(5);
        var random = new Random(17);
        foreach (var slot in model.Parameters.Layout.Slots)
        {
            var name = slot.Name;
            var zero = (zeroTokenizer && name.StartsWith("tokenizer.", StringComparison.Ordinal))
                || name.Contains(".proj.", StringComparison.Ordinal)
                || name.Contains(".linear2.", StringComparison.Ordinal)
                || (zeroQkv && name.Contains(".qkv.", StringComparison.Ordinal));
            if (zero)
            {
                model.Parameters.WriteValue(name, new float[slot.Length]);
            }
            else if (name is "classifier.positional_emb" or "classifier.attention_pool.weight" or "classifier.attention_pool.bias" || name.Contains(".qkv.", StringComparison.Ordinal))
            {
                model.Parameters.WriteValue(name, Enumerable.Range(0, (int)slot.Length).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray());
            }
        }

        return model;
    }
}
