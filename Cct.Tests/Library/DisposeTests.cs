using System.Reflection;
using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Data;
using Cct.Training.Training;

namespace Cct.Tests.Library;

/// <summary>
/// After Dispose every public member of the model, the trainer and the device throws ObjectDisposedException on the
/// caller's thread. Before the guards, <c>m.Dispose(); m.Predict(image)</c> launched kernels on freed buffers and an
/// ILGPU worker thread died with a NullReferenceException, which no caller can catch: the test process itself ended.
/// Each case runs on its own CPU device, so a broken guard cannot take the shared one down.
/// </summary>
public sealed class DisposeTests
{
    private const int Pixels = 28 * 28;

    /// <summary>One call per public member (a member added without a case fails <see cref="EveryPublicMemberHasACase"/>).</summary>
    private static readonly Dictionary<string, Action<CctModel>> ModelMembers = new(StringComparer.Ordinal)
    {
        ["Config"] = m => _ = m.Config,
        ["MaxBatch"] = m => _ = m.MaxBatch,
        ["DeviceBytes"] = m => _ = m.DeviceBytes,
        ["ParameterCount"] = m => _ = m.ParameterCount,
        ["InputNormalization"] = m => _ = m.InputNormalization,
        ["Seed"] = m => m.Seed = m.Seed + 1,
        ["Step"] = m => m.Step = m.Step + 1,
        ["Losses"] = m => _ = m.Losses,
        ["Probabilities"] = m => _ = m.Probabilities,
        ["Initialize"] = m => m.Initialize(1),
        ["Save"] = m => m.Save(Path.Combine(Path.GetTempPath(), $"cct-disposed-{Guid.NewGuid():N}.safetensors")),
        ["Predict"] = m => m.Predict(new byte[Pixels]),
        ["Predict(float)"] = m => m.Predict(new float[Pixels]),
        ["Logits"] = m => m.Logits(new float[Pixels]),
        ["AttentionMaps"] = m => m.AttentionMaps(new byte[Pixels]),
        ["AttentionMaps(float)"] = m => m.AttentionMaps(new float[Pixels]),
        ["TrainStep"] = m => m.TrainStep(new float[Pixels], [0], new AdamWSettings(1e-3f, 0.9f, 0.999f, 1e-8f, 0f)),
        ["TrainStep(device)"] = m => m.TrainStep(default, default, 1, 0f, new AdamWSettings(1e-3f, 0.9f, 0.999f, 1e-8f, 0f)),
        ["Forward"] = m => m.Forward(default, 1, train: false),
        ["Forward(labels)"] = m => m.Forward(default, default, 1, train: true, 0f),
        ["Backward"] = m => m.Backward(),
        ["Backward(labels)"] = m => m.Backward(default, 0f),
        ["ReadLoss"] = m => m.ReadLoss(),
    };

    public static IEnumerable<string> ModelMemberNames => ModelMembers.Keys;

    [TestCaseSource(nameof(ModelMemberNames))]
    public void ADisposedModelThrowsObjectDisposedException(string member)
    {
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        var model = CctModel.Create(device, CctPresets.Tiny, maxBatch: 1);
        model.Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => ModelMembers[member](model));
        Assert.That(e!.ObjectName, Does.Contain(nameof(CctModel)));
        model.Dispose();
    }

    /// <summary>A device disposed under a live model: the model's next use names the device, and disposing the model afterwards is harmless.</summary>
    [TestCase("Predict")]
    [TestCase("Logits")]
    [TestCase("AttentionMaps")]
    [TestCase("TrainStep")]
    [TestCase("Save")]
    public void AModelOnADisposedDeviceNamesTheDevice(string member)
    {
        var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        var model = CctModel.Create(device, CctPresets.Tiny, maxBatch: 1);
        device.Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => ModelMembers[member](model));
        Assert.That(e!.ObjectName, Does.Contain(nameof(ComputeDevice)));
        Assert.Throws<ObjectDisposedException>(() => CctModel.Create(device, CctPresets.Tiny));
        model.Dispose();
    }

    [Test]
    public void EveryPublicMemberHasACase()
    {
        var declared = typeof(CctModel).GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => m is PropertyInfo || (m is MethodInfo method && !method.IsSpecialName))
            .Select(m => m.Name)
            .Where(name => name != nameof(IDisposable.Dispose))
            .ToHashSet(StringComparer.Ordinal);
        var covered = ModelMembers.Keys.Select(k => k.Split('(')[0]).ToHashSet(StringComparer.Ordinal);
        Assert.That(declared, Is.EquivalentTo(covered));
    }

    [Test]
    public void ADisposedTrainerThrowsObjectDisposedException()
    {
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        using var model = CctModel.Create(device, CctPresets.Tiny, maxBatch: 8);
        var trainer = new Trainer(model, new TrainOptions { Epochs = 1, BatchSize = 8 });
        trainer.Dispose();
        var data = new TrainingData(Set(8), Set(8), DatasetSpec.FashionMnist);
        Assert.Multiple(() =>
        {
            Assert.Throws<ObjectDisposedException>(() => _ = trainer.Model);
            Assert.Throws<ObjectDisposedException>(() => _ = trainer.Options);
            Assert.Throws<ObjectDisposedException>(() => trainer.Fit(data));
            Assert.Throws<ObjectDisposedException>(() => trainer.Fit(data, new TrainingState(), sink: null, progress: null, CancellationToken.None));
            Assert.Throws<ObjectDisposedException>(() => trainer.Evaluate(data.Test));
        });
        trainer.Dispose();
        Assert.That(model.ParameterCount, Is.Positive, "disposing the trainer leaves the model alive");
    }

    [Test]
    public void ADisposedDeviceThrowsObjectDisposedException()
    {
        var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        device.Dispose();
        Assert.Multiple(() =>
        {
            Assert.Throws<ObjectDisposedException>(() => _ = device.Accelerator);
            Assert.Throws<ObjectDisposedException>(() => _ = device.Kind);
            Assert.Throws<ObjectDisposedException>(() => _ = device.Name);
            Assert.Throws<ObjectDisposedException>(() => _ = device.FreeMemoryBytes);
            Assert.Throws<ObjectDisposedException>(device.Synchronize);
        });
        device.Dispose();
    }

    private static ImageDataset Set(int count)
    {
        var pixels = new byte[count * Pixels];
        new Random(count).NextBytes(pixels);
        return new ImageDataset(28, 28, pixels, Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray(), DatasetSpec.FashionMnist.ClassNames);
    }
}
