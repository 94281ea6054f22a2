using Cct.Gpu.Model;
using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Model;

/// <summary>
/// The one architecture description drives the parameter layout and the summary; the loss computed in the forward
/// pass is the one the backward pass starts from.
/// </summary>
public sealed class CctArchitectureTests
{
    [TestCase("cct-2/3x2", 280_651)]
    [TestCase("cct-7/3x1", 3_740_171)]
    [TestCase("seed", 801_770)] // 799,866 without biases + 368 conv biases + 4 x 384 in-proj biases
    public void PresetsHaveTheirParameterCounts(string preset, long parameters)
    {
        var config = CctConfig.Preset(preset);
        using var model = new CctModel(TestDevices.Cpu, config, maxBatch: 1);
        Assert.Multiple(() =>
        {
            Assert.That(model.Parameters.Count, Is.EqualTo(parameters));
            Assert.That(ModelSummary.Rows(config).Sum(r => r.Parameters), Is.EqualTo(parameters), "the summary walks the same description");
        });
    }

    /// <summary>
    /// TensorCoreGemm takes a Linear only when its weight, bias and their gradients start on 16 bytes (TensorCoreGemm.Fits),
    /// so every parameter tensor starts on 4 floats. Packed back to back, the one-float attention_pool bias shifted every
    /// block tensor of cct-2/3x2 and cct-7/3x1 by one float and no block Linear ran on the tensor cores.
    /// </summary>
    [TestCase("cct-2/3x2")]
    [TestCase("cct-7/3x1")]
    [TestCase("seed")]
    [TestCase("cct-tiny")]
    public void EveryParameterStartsOnSixteenBytes(string preset)
    {
        using var model = new CctModel(TestDevices.Cpu, CctConfig.Preset(preset), maxBatch: 1);
        var layout = model.Parameters.Layout;
        Assert.Multiple(() =>
        {
            Assert.That(layout.Slots.Where(s => s.Offset % 4 != 0).Select(s => s.Name), Is.Empty);
            Assert.That(layout.Slots.Any(s => s.Length % 4 != 0), Is.True, "a preset with a tensor of odd length, so the gaps are exercised");
            Assert.That(model.Parameters.Length, Is.LessThan(model.Parameters.Count + (3L * layout.Slots.Count)), "at most 3 floats of gap a tensor");
        });
    }

    /// <summary>The layout's gaps belong to no tensor: after training steps (AdamW with weight decay) they still hold zero.</summary>
    [Test]
    public void ParameterGapsStayZeroThroughTraining()
    {
        var config = CctConfig.Preset("cct-tiny");
        using var model = CctModel.Create(TestDevices.Cpu, config, seed: 1, maxBatch: 2);
        var images = Enumerable.Range(0, 2 * config.InChannels * config.ImageSize * config.ImageSize).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        using var imageBuffer = TestDevices.Cpu.Upload(images);
        using var labelBuffer = TestDevices.Cpu.Upload([3, 7]);
        for (var step = 0; step < 2; step++)
        {
            model.TrainStep(imageBuffer.View, labelBuffer.View, 2, 0.1f, new AdamWSettings(1e-2f, 0.9f, 0.999f, 1e-8f, 0.05f));
        }

        var values = new float[model.Parameters.Length];
        model.Parameters.Values.CopyToCPU(values);
        var inside = new bool[values.Length];
        foreach (var slot in model.Parameters.Layout.Slots)
        {
            Array.Fill(inside, true, (int)slot.Offset, (int)slot.Length);
        }

        var gaps = Enumerable.Range(0, values.Length).Where(i => !inside[i]).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(gaps, Is.Not.Empty, "cct-tiny's layout has gaps");
            Assert.That(gaps.Select(i => values[i]), Is.All.EqualTo(0f));
            Assert.That(Enumerable.Range(0, values.Length).Where(i => inside[i]).Any(i => values[i] != 0f), Is.True, "the tensors did train");
        });
    }

    [Test]
    public void SeedBiasesFollowTheirWeightsAndStartAtZero()
    {
        using var model = new CctModel(TestDevices.Cpu, CctConfig.Preset("seed"), maxBatch: 1);
        model.Initialize(seed: 3);
        var names = model.Parameters.Layout.Slots.Select(s => s.Name).ToList();
        Assert.Multiple(() =>
        {
            for (var i = 0; i < 5; i++)
            {
                var weight = names.IndexOf($"tokenizer.conv_layers.{i}.0.weight");
                Assert.That(names[weight + 1], Is.EqualTo($"tokenizer.conv_layers.{i}.0.bias"));
                Assert.That(model.Parameters.ReadValue(names[weight + 1]), Is.All.EqualTo(0f));
            }

            for (var j = 0; j < 4; j++)
            {
                var weight = names.IndexOf($"classifier.blocks.{j}.self_attn.qkv.weight");
                Assert.That(names[weight + 1], Is.EqualTo($"classifier.blocks.{j}.self_attn.qkv.bias"));
                Assert.That(model.Parameters.ReadValue(names[weight + 1]), Has.Length.EqualTo(3 * 128).And.All.EqualTo(0f));
            }
        });
    }

    /// <summary>
    /// A training forward with labels, then Backward(), gives the bits of a forward, then Backward(labels): the same loss,
    /// probabilities and gradients. An eval forward with labels gives the losses on the device.
    /// </summary>
    [Test]
    public void ForwardWithLabelsGivesTheLossBackwardStartsFrom()
    {
        var config = new CctConfig { ImageSize = 8, ConvLayers = 1, Dim = 8, Layers = 2, Heads = 2, MlpRatio = 2, AttentionDropout = 0.3f, StochasticDepth = 0.5f };
        var device = TestDevices.Cpu;
        using var images = device.Upload(GradCheck.RandomDoubles(91, 4 * config.ImageSize * config.ImageSize).ToFloats());
        using var labels = device.Upload([3, 1, 4, 1]);
        (float Loss, float[] Probabilities, float[] Gradients) Run(bool withLabels)
        {
            using var model = new CctModel(device, config, maxBatch: 4);
            model.Initialize(seed: 4);
            model.Seed = 7;
            model.Step = 2;
            if (withLabels)
            {
                model.Forward(images.View, labels.View, 4, train: true, labelSmoothing: 0.1f);
                model.Parameters.ZeroGradients();
                model.Backward();
            }
            else
            {
                model.Forward(images.View, 4, train: true);
                model.Parameters.ZeroGradients();
                model.Backward(labels.View, 0.1f);
            }

            return (model.ReadLoss(), ToHost(model.Probabilities.SubView(0, 4 * config.Classes)), model.Parameters.Gradients.Read());
        }

        var (loss, probabilities, gradients) = Run(withLabels: true);
        var expected = Run(withLabels: false);
        Assert.Multiple(() =>
        {
            Assert.That(loss, Is.EqualTo(expected.Loss));
            Assert.That(probabilities, Is.EqualTo(expected.Probabilities));
            Assert.That(gradients, Is.EqualTo(expected.Gradients));
        });
    }

    [Test]
    public void EvalForwardWithLabelsComputesTheLossOnTheDevice()
    {
        var config = CctConfig.Preset("cct-tiny") with { ImageSize = 8, ConvLayers = 1 };
        var device = TestDevices.Cpu;
        using var model = new CctModel(device, config, maxBatch: 3);
        model.Initialize(seed: 5);
        using var images = device.Upload(GradCheck.RandomDoubles(92, 3 * config.ImageSize * config.ImageSize).ToFloats());
        int[] targets = [2, 0, 9];
        using var labels = device.Upload(targets);
        var logits = ToHost(model.Forward(images.View, labels.View, 3, train: false, labelSmoothing: 0f));
        var losses = ToHost(model.Losses.SubView(0, 3));
        var probabilities = ToHost(model.Probabilities.SubView(0, 3 * config.Classes));
        for (var b = 0; b < 3; b++)
        {
            var row = logits.AsSpan(b * config.Classes, config.Classes).ToArray().Select(v => (double)v).ToArray();
            var max = row.Max();
            var sum = row.Sum(v => Math.Exp(v - max));
            Compare.AssertClose([losses[b]], [(float)(Math.Log(sum) + max - row[targets[b]])], $"loss {b}");
            Compare.AssertClose(probabilities[(b * config.Classes)..((b + 1) * config.Classes)], row.Select(v => (float)(Math.Exp(v - max) / sum)).ToArray(), $"probabilities {b}");
        }

        Assert.That(model.ReadLoss(), Is.EqualTo(losses.Average()).Within(1e-6));
    }

    private static float[] ToHost(ArrayView<float> view)
    {
        var values = new float[view.Length];
        view.CopyToCPU(values);
        return values;
    }
}
