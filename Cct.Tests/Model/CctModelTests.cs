using System.Text.Json;
using Cct.Gpu.IO;
using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Gpu.Optimizer;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Model;

/// <summary>
/// The whole model against tools/reference/model_tiny.py: a tiny official CCT and a tiny post-norm +
/// BatchNorm + mean-pool model, same weights and batch as PyTorch (float64 reference).
/// </summary>
public sealed class CctModelTests
{
    private static readonly string[] Models = ["model_official", "model_postnorm"];

    [TestCaseSource(nameof(Models))]
    public void FirstStepMatchesPyTorch(string name) => CheckFirstStep(name, TestDevices.Cpu);

    /// <summary>
    /// The whole model through the GPU kernels (blocked GEMMs, batched attention, implicit-GEMM convolution,
    /// warp LayerNorm, grouped BatchNorm, chunked parameter sums) on the simulator: the wiring a GPU runs.
    /// </summary>
    [TestCaseSource(nameof(Models))]
    public void FirstStepThroughGpuKernelsMatchesPyTorch(string name) => CheckFirstStep(name, TestDevices.GpuKernelsCpu);

    /// <summary>The whole model with the OpenCL-CPU profile's kernels (products and convolutions on register tiles).</summary>
    [TestCaseSource(nameof(Models))]
    public void FirstStepThroughRegisterTilesMatchesPyTorch(string name) => CheckFirstStep(name, TestDevices.RegisterTilesCpu);

    private static void CheckFirstStep(string name, ComputeDevice device)
    {
        var file = Load(name);
        using var model = Build(device, file);
        var batch = file["input"].Shape[0];
        using var input = device.Upload(file["input"].ToFloats());
        using var labels = device.Upload(file["labels"].ToInts());

        var logits = new float[batch * model.Config.Classes];
        model.Forward(input.View, batch, train: true).CopyToCPU(logits);
        model.Parameters.ZeroGradients();
        model.Backward(labels.View, LabelSmoothing(file));

        Compare.AssertClose(logits, file["logits"].ToFloats(), $"{name}.logits");
        Compare.AssertClose([model.ReadLoss()], file["loss"].ToFloats(), $"{name}.loss");
        foreach (var slot in model.Parameters.Layout.Slots)
        {
            Compare.AssertClose(model.Parameters.ReadGradient(slot.Name), file["grad." + slot.Name].ToFloats(), $"{name}.grad.{slot.Name}");
        }

        foreach (var slot in model.BufferLayout.Slots)
        {
            Compare.AssertClose(model.ReadBuffer(slot.Name), file["buffer_after." + slot.Name].ToFloats(), $"{name}.buffer_after.{slot.Name}");
        }
    }

    [TestCaseSource(nameof(Models))]
    public void FiveAdamWStepsGivePyTorchLosses(string name)
    {
        var file = Load(name);
        var config = JsonDocument.Parse(file.Metadata["config"]).RootElement;
        var betas = config.GetProperty("betas").EnumerateArray().Select(b => b.GetSingle()).ToArray();
        var settings = new AdamWSettings(config.GetProperty("lr").GetSingle(), betas[0], betas[1], config.GetProperty("eps").GetSingle(), config.GetProperty("weight_decay").GetSingle());
        var device = TestDevices.Cpu;
        using var model = Build(device, file);
        var batch = file["input"].Shape[0];
        using var input = device.Upload(file["input"].ToFloats());
        using var labels = device.Upload(file["labels"].ToInts());
        var parameters = model.Parameters;

        var losses = new float[5];
        for (var step = 1; step <= 5; step++)
        {
            model.Forward(input.View, batch, train: true);
            parameters.ZeroGradients();
            model.Backward(labels.View, LabelSmoothing(file));
            losses[step - 1] = model.ReadLoss();
            AdamW.For(device).Step(parameters.Values.View, parameters.FirstMoment.View, parameters.SecondMoment.View, parameters.Gradients.View, settings, step);
        }

        Compare.AssertClose(losses, file["losses"].ToFloats(), $"{name}.losses");
        foreach (var slot in parameters.Layout.Slots)
        {
            // attention_pool.bias has a zero true gradient (softmax ignores a shift), so Adam turns fp32
            // noise into ±lr steps: up to 5·lr = 0.05 apart from PyTorch's float64 run.
            var bound = slot.Name == "classifier.attention_pool.bias" ? Tolerance.Model with { Name = "5 noisy Adam steps", Atol = 0.05 } : Tolerance.Model;
            Compare.AssertClose(parameters.ReadValue(slot.Name), file["param_after5." + slot.Name].ToFloats(), $"{name}.param_after5.{slot.Name}", bound);
        }
    }

    [Test]
    public void ParameterNamesMatchPyTorchStateDict()
    {
        foreach (var name in Models)
        {
            var file = Load(name);
            using var model = Build(TestDevices.Cpu, file);
            var expected = file.Metadata["param_names"].Split(',');
            Assert.That(model.Parameters.Layout.Slots.Select(s => s.Name), Is.EquivalentTo(expected), name);
            foreach (var slot in model.Parameters.Layout.Slots)
            {
                Assert.That(slot.Shape.Aggregate(1, (a, b) => a * b), Is.EqualTo(file["param." + slot.Name].ElementCount), slot.Name);
            }
        }
    }

    [TestCase("cct-2/3x2", 280_651, 49)]
    [TestCase("cct-7/3x1", 3_740_171, 196)]
    public void OfficialPresetsHaveThePaperSizes(string preset, long parameters, int tokens)
    {
        var config = CctConfig.Preset(preset);
        using var model = new CctModel(TestDevices.Cpu, config, maxBatch: 1);
        Assert.Multiple(() =>
        {
            Assert.That(model.Parameters.Count, Is.EqualTo(parameters));
            Assert.That(config.Tokens, Is.EqualTo(tokens));
        });
    }

    [Test]
    public void SeedPresetHas196TokensOfWidth128()
    {
        var config = CctConfig.Preset("seed");
        config.Validate();
        Assert.That((config.Tokens, config.Dim, config.Layers, config.Heads, config.MlpHidden), Is.EqualTo((196, 128, 4, 4, 256)));
    }

    [Test]
    public void InitializationFollowsTheOfficialScheme()
    {
        using var model = new CctModel(TestDevices.Cpu, CctConfig.Preset("cct-2/3x2"), maxBatch: 1);
        model.Initialize(seed: 0);
        var p = model.Parameters;
        var qkv = p.ReadValue("classifier.blocks.0.self_attn.qkv.weight");
        var conv = p.ReadValue("tokenizer.conv_layers.1.0.weight");
        var pos = p.ReadValue("classifier.positional_emb");
        Assert.Multiple(() =>
        {
            // Sample std within 5% of the target: each tensor has > 6,000 draws, so the standard error is ~1%.
            Assert.That(Std(qkv), Is.EqualTo(0.02).Within(5).Percent);
            Assert.That(Std(conv), Is.EqualTo(Math.Sqrt(2.0 / (64 * 9))).Within(5).Percent);
            Assert.That(Std(pos), Is.EqualTo(0.2).Within(5).Percent);
            Assert.That(p.ReadValue("classifier.blocks.0.self_attn.proj.bias"), Is.All.EqualTo(0f));
            Assert.That(p.ReadValue("classifier.norm.weight"), Is.All.EqualTo(1f));
        });
    }

    /// <summary>
    /// Seed 3's parameters and buffers, byte for byte (SHA-256 of the floats in layout order), for four presets that
    /// between them have every rule (BatchNorm, learnable and sine positional embeddings, bias-free convolutions). The
    /// hashes were written by the name-matching rules the typed <see cref="TensorInit"/> replaced, so a checkpoint's
    /// seed keeps meaning the same weights across versions; the draws are host doubles (Box–Muller), as on every x64 machine.
    /// </summary>
    [TestCase("cct-2/3x2", "BF8D2E098C6168CAA8396F48CDB6EA53AA209B1EC41ED95B62FE4CA8B5A191E3")]
    [TestCase("seed", "D3216135FF050D95E7C3D7F44A67DA7A2A0F510E9461C5195AC57C68E4943518")]
    [TestCase("cct-tiny", "1B3CD4FEF3C75F9D7EA663BF674DFC906AB10ED9477D98EEAD084173C9DC1A36")]
    [TestCase("cct-7/3x1", "8C91C00C22983EEB4380C3E28CF6AB27D2E6E12A75E57E11D5293BA52C5CE48C")]
    public void InitializationBytesArePinned(string preset, string sha256)
    {
        using var model = new CctModel(TestDevices.Cpu, CctConfig.Preset(preset), maxBatch: 1);
        model.Initialize(seed: 3);
        var bytes = new List<byte>();
        foreach (var slot in model.Parameters.Layout.Slots)
        {
            bytes.AddRange(model.Parameters.ReadValue(slot.Name).SelectMany(BitConverter.GetBytes));
        }

        foreach (var slot in model.BufferLayout.Slots)
        {
            bytes.AddRange(model.ReadBuffer(slot.Name).SelectMany(BitConverter.GetBytes));
        }

        Assert.That(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes.ToArray())), Is.EqualTo(sha256));
    }

    [Test]
    public void InvalidConfigurationIsRejectedWithAClearMessage()
    {
        var bad = CctConfig.Preset("cct-2/3x2") with { Heads = 3 };
        Assert.That(() => new CctModel(TestDevices.Cpu, bad, 1), Throws.ArgumentException.With.Message.Contains("not divisible by heads"));
    }

    private static double Std(float[] values)
    {
        var mean = values.Average(v => (double)v);
        return Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
    }

    private static SafeTensorsFile Load(string name)
        => SafeTensorsFile.Read(Path.Combine(AppContext.BaseDirectory, "Fixtures", name + ".safetensors"));

    private static float LabelSmoothing(SafeTensorsFile file)
        => JsonDocument.Parse(file.Metadata["config"]).RootElement.GetProperty("label_smoothing").GetSingle();

    /// <summary>
    /// The fixtures cover both conv-stage orders: the official model's stages (ReLU, then MaxPool2d(3, 2, 1)) and the
    /// post-norm model's last stage (BatchNorm, then MaxPool2d(2, 2)) pool before their ReLU, the post-norm model's
    /// first stage has no pool; so the first-step gradients above check both, with and without BatchNorm.
    /// </summary>
    [Test]
    public void TheFixturesPoolBeforeTheReluWithAndWithoutBatchNorm()
    {
        var stages = Models.Select(name =>
        {
            using var model = Build(TestDevices.Cpu, Load(name));
            return CctArchitecture.Of(model.Config).Tokenizer;
        }).ToList();
        Assert.That(stages[0].Select(s => (s.PoolsBeforeRelu, s.Norm is null)), Is.EqualTo(new[] { (true, true), (true, true) }), "official");
        Assert.That(stages[1].Select(s => (s.PoolsBeforeRelu, s.Norm is null)), Is.EqualTo(new[] { (false, false), (true, false) }), "post-norm");
    }

    private static CctModel Build(ComputeDevice device, SafeTensorsFile file)
        => ModelParity.Build(device, JsonDocument.Parse(file.Metadata["config"]).RootElement, file, file["input"].Shape[0]);

    /// <summary>
    /// Activation gradients are laid out for the current batch (the memsets clear only what a step uses): a batch of 3 in a
    /// model built for 5, after a batch of 5 filled its buffers, gives the bits of a model built for 3. Every stochastic
    /// layer is on, and two blocks share their intermediate gradients' memory.
    /// </summary>
    [Test]
    public void SmallerBatchThanMaxBatchGivesTheSameGradients()
    {
        var config = new CctConfig { ImageSize = 8, ConvLayers = 1, Dim = 8, Layers = 2, Heads = 2, MlpRatio = 2, AttentionDropout = 0.3f, StochasticDepth = 0.5f };
        var device = TestDevices.Cpu;
        var pixels = config.ImageSize * config.ImageSize;
        using var images = device.Upload(GradCheck.RandomDoubles(81, 5 * pixels).ToFloats());
        using var labels = device.Upload([3, 1, 4, 1, 5]);
        float[] Gradients(CctModel model, int batch)
        {
            model.Forward(images.View, batch, train: true);
            model.Parameters.ZeroGradients();
            model.Backward(labels.View, 0.1f);
            var values = new float[model.Parameters.Length];
            model.Parameters.Gradients.CopyToCPU(values);
            return values;
        }

        using var large = new CctModel(device, config, maxBatch: 5);
        using var exact = new CctModel(device, config, maxBatch: 3);
        large.Initialize(seed: 2);
        exact.Initialize(seed: 2);
        Gradients(large, 5);
        Assert.That(Gradients(large, 3), Is.EqualTo(Gradients(exact, 3)));
    }
}
