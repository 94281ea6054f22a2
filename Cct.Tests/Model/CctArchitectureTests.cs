using Cct.Gpu.Model;
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
