using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Model;

/// <summary>
/// Same seed, same run: dropout, attention dropout and drop-path masks come from a counter RNG keyed by
/// (seed, stream, step), and every kernel sums in a fixed order, so two trainings agree bit for bit.
/// </summary>
public sealed class DeterminismTests
{
    // Three blocks, so the blocks' shared gradient buffers are reused and re-zeroed, with every stochastic layer on.
    private static readonly CctConfig Config = new()
    {
        ImageSize = 8,
        ConvLayers = 2,
        MidChannels = 4,
        Dim = 8,
        Layers = 3,
        Heads = 2,
        MlpRatio = 2,
        AttentionDropout = 0.3f,
        StochasticDepth = 0.5f,
    };

    private const int Batch = 4;

    [Test]
    public void SameSeedTrainsToIdenticalParameters()
    {
        var first = Train(dropoutSeed: 7);
        var second = Train(dropoutSeed: 7);
        Assert.That(second, Is.EqualTo(first), "two runs with the same seeds must give bit-identical parameters");
    }

    [Test]
    public void DropoutSeedChangesTheRun()
    {
        // Guards the test above: the stochastic layers really act, so equal runs are not trivially equal.
        Assert.That(Train(dropoutSeed: 8), Is.Not.EqualTo(Train(dropoutSeed: 7)));
    }

    /// <summary>
    /// A model that keeps its step values in device memory (<see cref="DeviceStepValues"/>, what a replayed CUDA graph reads)
    /// trains to the same bytes as one that passes them as kernel arguments: the dropout and drop-path masks read the step
    /// from there, and AdamW its coefficients, which change every step here (the learning rate does). With the item kernels
    /// and with the GPU kernels at head size 16, so attention is fused (FlashAttention, whose dropout reads the key inside its
    /// tiles), and with them unfused (the dropped GEMM, whose operand resolves the key once per group). A step cell that
    /// went unwritten or lagged a step would change the masks or the update and fail this (writing Step + 1 fails the cases).
    /// </summary>
    [TestCase(false, false)]
    [TestCase(true, true)]
    [TestCase(true, false)]
    public void StepValuesInDeviceMemoryTrainToTheSameBytes(bool gpuKernels, bool fused)
    {
        var kind = TestDevices.OverrideKind ?? AcceleratorKind.Cpu;
        var (shape, family) = gpuKernels ? (ComputeDevice.TiledCpuShape, (KernelFamily?)KernelFamily.Grouped) : (null, null);
        using var plain = ComputeDevice.Create(kind, shape, family, fuseAttention: fused);
        using var stored = ComputeDevice.Create(kind, shape, family, fuseAttention: fused, stepValuesOnDevice: true);
        var config = gpuKernels ? Config with { Dim = 32 } : Config;
        using (var model = new CctModel(stored, config, Batch))
        {
            Assert.That(model.FusesAttention, Is.EqualTo(gpuKernels && fused));
        }

        Assert.That(Train(stored, config, dropoutSeed: 7), Is.EqualTo(Train(plain, config, dropoutSeed: 7)));
    }

    private static float[] Train(uint dropoutSeed) => Train(TestDevices.Cpu, Config, dropoutSeed);

    private static float[] Train(ComputeDevice device, CctConfig config, uint dropoutSeed)
    {
        using var model = new CctModel(device, config, Batch);
        model.Initialize(seed: 3);
        model.Seed = dropoutSeed;
        using var images = device.Upload(GradCheck.RandomDoubles(1, Batch * config.ImageSize * config.ImageSize).ToFloats());
        using var labels = device.Upload([1, 0, 3, 9]);
        for (var step = 0; step < 4; step++)
        {
            model.TrainStep(images.View, labels.View, Batch, 0.1f, new AdamWSettings(1e-2f / (step + 1), 0.9f, 0.999f, 1e-8f, 0.05f));
        }

        var values = new float[model.Parameters.Length];
        model.Parameters.Values.CopyToCPU(values);
        return values;
    }
}
