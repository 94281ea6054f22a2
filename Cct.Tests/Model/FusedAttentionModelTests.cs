using Cct.Gpu.Model;
using Cct.Gpu.Optimizer;
using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Model;

/// <summary>
/// A model on the GPU kernels with heads of 16 trains with fused attention (<see cref="FlashAttention"/>): its steps
/// must match the same model on the CPU kernels, which keeps the probabilities, and it must not allocate them. The
/// bound is <see cref="Tolerance.Model"/> (fp32 sums in another order); a wrong mask, scale or gradient errs by O(|ref|).
/// </summary>
public sealed class FusedAttentionModelTests
{
    private const int Batch = 4;

    // 8x8 images, one conv and pool: 16 tokens of 32 in 2 heads of 16, attention dropout on so the masks must agree.
    private static readonly CctConfig Config = new()
    {
        ImageSize = 8,
        ConvLayers = 1,
        Layers = 2,
        Heads = 2,
        Dim = 32,
        MlpRatio = 1,
        Classes = 3,
        AttentionDropout = 0.2f,
    };

    [Test]
    public void ThreeTrainingStepsMatchTheUnfusedModel()
    {
        var random = new Random(9);
        var images = Enumerable.Range(0, Batch * 64).Select(_ => (float)random.NextDouble()).ToArray();
        var classes = Enumerable.Range(0, Batch).Select(i => i % Config.Classes).ToArray();
        var settings = new AdamWSettings(0.01f, 0.9f, 0.999f, 1e-8f, 0.05f);
        var unfused = Train(TestDevices.Cpu, images, classes, settings);
        var fused = Train(TestDevices.GpuKernelsCpu, images, classes, settings);
        Compare.AssertClose(fused.Losses, unfused.Losses, "fused_model.losses");
        foreach (var (name, gradient) in unfused.FirstGradients)
        {
            Compare.AssertClose(fused.FirstGradients[name], gradient, $"fused_model.first_gradient.{name}");
        }
    }

    [Test]
    public void KeepsNoAttentionProbabilities()
    {
        using var unfused = new CctModel(TestDevices.Cpu, Config, Batch);
        using var fused = new CctModel(TestDevices.GpuKernelsCpu, Config, Batch);
        var (t, h, blocks) = (Config.Tokens, Config.Heads, Config.Layers);

        // Each block's (B, H, T, T) probabilities become a (B, H, T) log-sum-exp; backward's shared scratch holds the
        // score gradients (B, H, T, T) in both, and the row dots (B, H, T) as well when fused.
        var saved = 4L * Batch * h * ((((long)t * t) - t) * blocks - t);
        Assert.That(unfused.DeviceBytes - fused.DeviceBytes, Is.EqualTo(saved));
        Assert.That((fused.FusesAttention, unfused.FusesAttention), Is.EqualTo((true, false)));

        // With fusion off (the bench's --attention unfused) the GPU kernels keep the probabilities again.
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu, ComputeDevice.TiledCpuShape, KernelFamily.Grouped, fuseAttention: false);
        using var batched = new CctModel(device, Config, Batch);
        Assert.That((batched.FusesAttention, batched.DeviceBytes), Is.EqualTo((false, unfused.DeviceBytes)));
    }

    private static (float[] Losses, Dictionary<string, float[]> FirstGradients) Train(ComputeDevice device, float[] images, int[] classes, AdamWSettings settings)
    {
        using var model = new CctModel(device, Config, Batch);
        model.Initialize(3);
        using var input = device.Upload(images);
        using var labels = device.Upload(classes);
        var parameters = model.Parameters;
        var losses = new float[3];
        Dictionary<string, float[]>? first = null;
        for (var step = 1; step <= 3; step++)
        {
            model.Forward(input.View, Batch, train: true);
            parameters.ZeroGradients();
            model.Backward(labels.View, 0.1f);
            losses[step - 1] = model.ReadLoss();
            first ??= parameters.Layout.Slots.ToDictionary(s => s.Name, s => parameters.ReadGradient(s.Name));
            AdamW.For(device).Step(parameters.Values.View, parameters.FirstMoment.View, parameters.SecondMoment.View, parameters.Gradients.View, settings, step);
        }

        return (losses, first!);
    }
}
