using Cct.Gpu.IO;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;
using Cct.Training.Data;
using Cct.Training.Reports;
using Cct.Training.Training;

namespace Cct.Tests.Library;

/// <summary>What a new user hits first: defaults that work together, inputs alike across methods, errors that name the right parameter.</summary>
public sealed class LibraryDefaultsTests
{
    private const int Pixels = 28 * 28;

    /// <summary>The defaults once disagreed: TrainOptions' batch 128 against Create's maxBatch 64, so this threw.</summary>
    [Test]
    public void ADefaultModelTrainsWithDefaultOptions()
    {
        Assert.That(new TrainOptions().BatchSize, Is.EqualTo(CctModel.DefaultMaxBatch));
        using var model = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny);
        using var trainer = new Trainer(model, new TrainOptions { Epochs = 1 });
        var history = trainer.Fit(Synthetic(64, 16));
        Assert.That(history.Select(e => e.Epoch), Is.EqualTo(new[] { 1 }));
        Assert.That(double.IsFinite(history[0].TrainLoss), Is.True);
    }

    /// <summary>TrainOptions.Seed is the run's only seed: Fit gives it to the model's dropout, whatever the model was created with.</summary>
    [Test]
    public void FitSetsTheDropoutSeedFromTheOptions()
    {
        using var model = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny, seed: 0, maxBatch: 16);
        using var trainer = new Trainer(model, new TrainOptions { Epochs = 1, BatchSize = 16, Seed = 5 });
        trainer.Fit(Synthetic(16, 16));
        Assert.That((model.Seed, model.Step), Is.EqualTo((5u, 1u)));
    }

    /// <summary>A cancelled Fit once returned normally with an empty history; now the sink gets the exact position, then OperationCanceledException.</summary>
    [Test]
    public void CancelledFitSavesThePositionThenThrows()
    {
        using var model = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny, maxBatch: 16);
        using var trainer = new Trainer(model, new TrainOptions { Epochs = 2, BatchSize = 16 });
        var sink = new RecordingSink();
        using var cancellation = new CancellationTokenSource();
        var updates = 0;
        var progress = new SynchronousProgress(p =>
        {
            // Cancelled from the first epoch's end: the second epoch stops before its first step.
            if (p.CompletedEpoch is not null && ++updates == 1)
            {
                cancellation.Cancel();
            }
        });
        Assert.Throws<OperationCanceledException>(() => trainer.Fit(Synthetic(32, 16), new TrainingState(), sink, progress, cancellation.Token));
        Assert.Multiple(() =>
        {
            Assert.That(sink.Epochs, Is.EqualTo(new[] { 1 }));
            Assert.That(sink.Interruption, Is.Not.Null);
            Assert.That((sink.Interruption!.Epoch, sink.Interruption.BatchInEpoch, sink.Interruption.Step), Is.EqualTo((1, 0, 2L)));
            Assert.That(model.Step, Is.EqualTo(2u));
        });

        Assert.Throws<OperationCanceledException>(() => trainer.Fit(Synthetic(32, 16), cancellationToken: cancellation.Token));
    }

    /// <summary>AttentionMaps takes pixels as Predict does; the normalised-float overload gives the same maps.</summary>
    [Test]
    public void AttentionMapsTakePixelsLikePredict()
    {
        using var model = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny with { InputMean = 0.3f, InputStd = 0.4f }, seed: 2, maxBatch: 2);
        var pixels = Images(3, seed: 4);
        var fromPixels = model.AttentionMaps(pixels);
        var fromFloats = model.AttentionMaps(pixels.Select(p => ((p / 255f) - 0.3f) / 0.4f).ToArray());
        var predictions = model.Predict(pixels);
        Assert.That(fromPixels, Has.Count.EqualTo(3));
        for (var n = 0; n < 3; n++)
        {
            Assert.That(fromPixels[n].Pooling, Is.EqualTo(fromFloats[n].Pooling));
            Assert.That(fromPixels[n].Rollout, Is.EqualTo(fromFloats[n].Rollout));
            Assert.That(fromPixels[n].Probabilities, Is.EqualTo(predictions[n].Probabilities), "one normalisation, one softmax");
        }
    }

    /// <summary>Predict(new byte[100]) once named `normalizedImages`, a parameter of another method.</summary>
    [Test]
    public void ErrorsNameTheMethodsOwnParameter()
    {
        using var model = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny, maxBatch: 1);
        var settings = new Cct.Gpu.Layers.AdamWSettings(1e-3f, 0.9f, 0.999f, 1e-8f, 0f);
        Assert.Multiple(() =>
        {
            Assert.That(Assert.Throws<ArgumentException>(() => model.Predict(new byte[100]))!.ParamName, Is.EqualTo("pixels"));
            Assert.That(Assert.Throws<ArgumentException>(() => model.Predict(new float[100]))!.ParamName, Is.EqualTo("pixels"));
            Assert.That(Assert.Throws<ArgumentException>(() => model.AttentionMaps(new byte[100]))!.ParamName, Is.EqualTo("pixels"));
            Assert.That(Assert.Throws<ArgumentException>(() => model.AttentionMaps(new float[100]))!.ParamName, Is.EqualTo("images"));
            Assert.That(Assert.Throws<ArgumentException>(() => model.Logits(new float[100]))!.ParamName, Is.EqualTo("normalizedImages"));
            Assert.That(Assert.Throws<ArgumentException>(() => model.TrainStep(new float[100], [0], settings))!.ParamName, Is.EqualTo("normalizedImages"));
        });
    }

    /// <summary>The CPU accelerator's memory is this machine's, not ILGPU's long.MaxValue.</summary>
    [Test]
    public void TheCpuDevicesMemoryIsTheMachines()
    {
        var cpu = ComputeDevice.List().Single(d => d.Kind == AcceleratorKind.Cpu);
        Assert.That(cpu.MemoryBytes, Is.EqualTo(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes));
        Assert.That(cpu.MemoryBytes, Is.InRange(1L << 20, long.MaxValue - 1));
    }

    /// <summary>
    /// The file tools/notebook_to_safetensors.py writes: the notebook's state_dict under its own names (num_batches_tracked
    /// as I64 included), metadata format seed-notebook, source and parameters. CctModel.Load once refused that format.
    /// </summary>
    [Test]
    public void LoadReadsTheNotebookConvertersOutput()
    {
        var folder = Directory.CreateTempSubdirectory("cct-notebook-").FullName;
        try
        {
            var fixture = SafeTensorsFile.Read(Path.Combine(AppContext.BaseDirectory, "Fixtures", "seed_notebook.safetensors"));
            var path = NotebookFile.Write(folder);
            using var model = CctModel.Load(TestDevices.Cpu, path);
            Assert.That(model.Config, Is.EqualTo(CctPresets.Seed));
            Compare.AssertClose(model.Logits(fixture["fixture.input"].ToFloats()), fixture["fixture.logits"].ToFloats(), "seed_notebook.logits");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static byte[] Images(int count, int seed)
    {
        var pixels = new byte[count * Pixels];
        new Random(seed).NextBytes(pixels);
        return pixels;
    }

    private static TrainingData Synthetic(int train, int test)
    {
        static ImageDataset Set(int count, int seed)
            => new(28, 28, Images(count, seed), Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray(), DatasetSpec.FashionMnist.ClassNames);

        return new TrainingData(Set(train, 11), Set(test, 12), DatasetSpec.FashionMnist);
    }

    private sealed class RecordingSink : IEpochSink
    {
        public List<int> Epochs { get; } = [];

        public TrainingState? Interruption { get; private set; }

        public void EpochCompleted(Trainer trainer, TrainingState state, EpochMetrics metrics, bool improved) => Epochs.Add(metrics.Epoch);

        public void Interrupted(Trainer trainer, TrainingState state) => Interruption = state;
    }

    private sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
