using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Runtime;

/// <summary>
/// CUDA graph replay (<see cref="GraphReplay"/>) against plain launches on the same GPU: the same model, seeds and batches
/// on a device made with <c>cudaGraphs: true</c> and on one without. Category "Gpu": the default test command excludes it.
/// </summary>
[Category("Gpu")]
public sealed class GraphReplayTests
{
    private const int Batch = 32;

    /// <summary>
    /// cct-2/3x2 with dropout and drop-path on and a learning rate that changes every step: eight steps at batch 32, one at
    /// batch 64 (which grows the scratch buffers, so every graph must be dropped and captured again), three more at 32, then
    /// three eval batches. Parameters and eval losses must be the same bytes: a graph that replayed a stale step number,
    /// stale AdamW coefficients or a freed buffer would change them. The graph must really have been used: the first
    /// steady step is captured (the first step moves buffers, the second is the steady one), the rest replayed.
    /// </summary>
    [Test]
    public void ReplayedStepsAndBatchesAreBitIdenticalToPlainLaunches()
    {
        var plain = TestDevices.Cuda(GemmPrecision.Fp32);
        using var graphed = ComputeDevice.Create(AcceleratorKind.Cuda, GemmPrecision.Fp32, cudaGraphs: true);
        Assert.That(graphed.ReplaysGraphs && !plain.ReplaysGraphs);
        var (plainParameters, plainLosses, _, _) = Run(plain);
        var (parameters, losses, captures, replays) = Run(graphed);
        Assert.Multiple(() =>
        {
            Assert.That(parameters, Is.EqualTo(plainParameters), "parameters after the steps");
            Assert.That(losses, Is.EqualTo(plainLosses), "eval losses");
            Assert.That(captures, Is.EqualTo(3), "captures: the batch-32 step twice (before and after the batch of 64), the eval batch once");
            // Steps 3-8 (captured at 3), 12 (captured), eval batches 2 (captured) and 3.
            Assert.That(replays, Is.EqualTo(9), "graph launches");
        });
    }

    [Test]
    public void GraphsNeedACudaDevice()
    {
        var e = Assert.Throws<NotSupportedException>(() => ComputeDevice.Create(AcceleratorKind.Cpu, GemmPrecision.Fp32, cudaGraphs: true));
        Assert.That(e!.Message, Does.Contain("CUDA graphs need a CUDA GPU"));
    }

    private static (float[] Parameters, float[] Losses, int Captures, int Replays) Run(ComputeDevice device)
    {
        var config = CctConfig.Preset("cct-2/3x2") with { AttentionDropout = 0.1f, StochasticDepth = 0.1f };
        using var model = new CctModel(device, config, 2 * Batch);
        model.Initialize(seed: 3);
        model.Seed = 11;
        var random = new Random(5);
        using var images = device.Upload(Enumerable.Range(0, 2 * Batch * 28 * 28).Select(_ => (float)random.NextDouble()).ToArray());
        using var labels = device.Upload(Enumerable.Range(0, 2 * Batch).Select(i => i % 10).ToArray());
        var batches = Enumerable.Repeat(Batch, 8).Append(2 * Batch).Concat(Enumerable.Repeat(Batch, 3)).ToList();
        for (var step = 0; step < batches.Count; step++)
        {
            model.TrainStep(images.View, labels.View, batches[step], 0.1f, new AdamWSettings(1e-3f / (step + 1), 0.9f, 0.999f, 1e-8f, 0.05f));
        }

        var losses = new List<float>();
        for (var i = 0; i < 3; i++)
        {
            model.Forward(images.View, labels.View, Batch, train: false, labelSmoothing: 0f);
            losses.Add(model.ReadLoss());
        }

        var values = new float[model.Parameters.Length];
        model.Parameters.Values.CopyToCPU(values);
        return (values, losses.ToArray(), model.GraphCaptures, model.GraphReplays);
    }
}
