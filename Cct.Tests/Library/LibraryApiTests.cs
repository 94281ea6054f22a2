using System.Diagnostics.CodeAnalysis;
using Cct.Gpu.IO;
using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Training.Checkpoints;
using Cct.Training.Data;
using Cct.Training.Training;
using Cct.Tests.Support;

namespace Cct.Tests.Library;

/// <summary>
/// The library's host-array surface as a .NET caller uses it: create, save, load, predict, step and fit, on the CPU
/// accelerator with cct-tiny and synthetic 28×28 images (the API is what is tested, not accuracy).
/// </summary>
public sealed class LibraryApiTests
{
    private const int Pixels = 28 * 28;
    private string folder = "";

    [SetUp]
    public void CreateFolder() => folder = Directory.CreateTempSubdirectory("cct-library-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(folder, recursive: true);

    /// <summary>
    /// The packages' public types are exactly these; anything else is internal (a new public type must be added here on
    /// purpose). Their members are locked by the PublicAPI.Shipped/Unshipped.txt files of each library (RS0016/RS0017).
    /// </summary>
    [Test]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Cct.Gpu and Cct.Training are trimmer roots in the bundle (Directory.Build.props): their types all stay.")]
    public void PublicSurfaceIsTheLibrarysAndNoMore()
    {
        string[] gpu =
        [
            "Cct.Gpu.IO.SafeTensor", "Cct.Gpu.IO.SafeTensorsFile", "Cct.Gpu.Layers.AdamWSettings", "Cct.Gpu.Model.AttentionMap",
            "Cct.Gpu.Model.BlockLayout", "Cct.Gpu.Model.CctConfig", "Cct.Gpu.Model.CctModel", "Cct.Gpu.Model.CctPresets",
            "Cct.Gpu.Model.PoolingKind", "Cct.Gpu.Model.PositionalEmbeddingKind", "Cct.Gpu.Model.Prediction", "Cct.Gpu.Model.SummaryRow",
            "Cct.Gpu.Runtime.AcceleratorKind", "Cct.Gpu.Runtime.AcceleratorUnavailableException", "Cct.Gpu.Runtime.ComputeDevice",
            "Cct.Gpu.Runtime.DeviceDescription", "Cct.Gpu.Runtime.GemmPrecision",
        ];
        string[] training =
        [
            "Cct.Training.Check.CheckRow", "Cct.Training.Check.DeviceCheck", "Cct.Training.Check.Tolerance", "Cct.Training.Checkpoints.Checkpoint",
            "Cct.Training.Checkpoints.CheckpointException", "Cct.Training.Data.DatasetException", "Cct.Training.Data.DatasetKind", "Cct.Training.Data.DatasetSpec",
            "Cct.Training.Data.DownloadProgress", "Cct.Training.Data.FashionMnist", "Cct.Training.Data.ImageDataset", "Cct.Training.Data.ImagePreprocessor",
            "Cct.Training.Data.TrainingData", "Cct.Training.Export.OnnxExport", "Cct.Training.Reports.AtomicFile", "Cct.Training.Reports.AttentionPlot",
            "Cct.Training.Reports.EpochMetrics", "Cct.Training.Reports.EvaluationReport", "Cct.Training.Training.Evaluation", "Cct.Training.Training.IEpochSink",
            "Cct.Training.Training.LearningRateScheduleKind", "Cct.Training.Training.RunFolder", "Cct.Training.Training.RunFolderBusyException",
            "Cct.Training.Training.TestTimeAugmentation", "Cct.Training.Training.TrainingRecipe", "Cct.Training.Training.TrainingRecipes",
            "Cct.Training.Training.TrainOptions", "Cct.Training.Training.Trainer", "Cct.Training.Training.TrainingDivergedException",
            "Cct.Training.Training.TrainingOutcome", "Cct.Training.Training.TrainingProgress", "Cct.Training.Training.TrainingResult",
            "Cct.Training.Training.TrainingState",
        ];
        Assert.That(typeof(CctModel).Assembly.GetExportedTypes().Select(t => t.FullName).Order(), Is.EqualTo(gpu.Order()));
        Assert.That(typeof(Trainer).Assembly.GetExportedTypes().Select(t => t.FullName).Order(), Is.EqualTo(training.Order()));
    }

    [Test]
    public void ConfigsAreEqualByValueIncludingTheirChannelLists()
    {
        CctConfig first = CctPresets.Seed, second = CctPresets.Seed;
        Assert.That(first.ConvChannels, Is.Not.SameAs(second.ConvChannels));
        Assert.That(first, Is.EqualTo(second), "two seed presets hold equal but distinct channel lists");
        Assert.That(first.GetHashCode(), Is.EqualTo(second.GetHashCode()));
        Assert.That(CctPresets.Seed with { ConvChannels = [16, 32, 64, 128, 256] }, Is.Not.EqualTo(CctPresets.Seed));
        Assert.That(CctPresets.Tiny with { InputMean = 0.5f }, Is.Not.EqualTo(CctPresets.Tiny));
    }

    [Test]
    public void CreateIsAFunctionOfTheSeed()
    {
        using var a = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny, seed: 5);
        using var b = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny, seed: 5);
        using var c = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny, seed: 6);
        var images = Normalized(Images(3, seed: 1));
        Assert.That(a.Logits(images), Is.EqualTo(b.Logits(images)));
        Assert.That(a.Logits(images), Is.Not.EqualTo(c.Logits(images)));
        Assert.That(a.ParameterCount, Is.EqualTo(ModelSummary.Rows(CctPresets.Tiny).Sum(r => r.Parameters)));
    }

    [Test]
    public void SaveThenLoadGivesTheSameLogitsAndLeavesNoTemporaryFile()
    {
        using var model = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny with { InputMean = 0.25f, InputStd = 0.5f }, seed: 2);
        var path = Path.Combine(folder, "tiny.safetensors");
        model.Save(path);
        using var loaded = CctModel.Load(TestDevices.Cpu, path, maxBatch: 2);
        var images = Normalized(Images(5, seed: 3));
        Assert.That(loaded.Logits(images), Is.EqualTo(model.Logits(images)), "bit-identical: the same floats in the same kernels");
        Assert.That(loaded.Config, Is.EqualTo(model.Config));
        Assert.That(loaded.MaxBatch, Is.EqualTo(2));
        Assert.That(Directory.GetFiles(folder), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void LoadReadsTheClisCheckpoints()
    {
        using var model = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny, seed: 4);
        var path = Path.Combine(folder, "checkpoint.safetensors");
        Checkpoint.Save(path, model, TrainOptions.ForPreset("cct-tiny"), new TrainingState(), DatasetSpec.FashionMnist);
        using var loaded = CctModel.Load(TestDevices.Cpu, path);
        var images = Normalized(Images(2, seed: 5));
        Assert.That(loaded.Logits(images), Is.EqualTo(model.Logits(images)));
    }

    [Test]
    public void LoadRefusesWhatIsNotAModelInOneLine()
    {
        Assert.Throws<FileNotFoundException>(() => CctModel.Load(TestDevices.Cpu, Path.Combine(folder, "missing.safetensors")));

        var junk = Path.Combine(folder, "junk.safetensors");
        File.WriteAllText(junk, "not a safetensors file");
        AssertOneLine(Assert.Throws<InvalidDataException>(() => CctModel.Load(TestDevices.Cpu, junk))!, "junk.safetensors");

        using var model = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny);
        var good = Path.Combine(folder, "good.safetensors");
        model.Save(good);
        var file = SafeTensorsFile.Read(good);

        var noFormat = Path.Combine(folder, "no-format.safetensors");
        new SafeTensorsFile(file.Tensors).Write(noFormat);
        AssertOneLine(Assert.Throws<InvalidDataException>(() => CctModel.Load(TestDevices.Cpu, noFormat))!, "not a Cct model");

        var missing = Path.Combine(folder, "lacks.safetensors");
        new SafeTensorsFile(file.Tensors.Where(t => t.Key != "classifier.fc.bias").ToDictionary(), file.Metadata).Write(missing);
        AssertOneLine(Assert.Throws<InvalidDataException>(() => CctModel.Load(TestDevices.Cpu, missing))!, "lacks tensor 'classifier.fc.bias'");

        var extra = Path.Combine(folder, "extra.safetensors");
        new SafeTensorsFile(file.Tensors.Append(new("surprise", SafeTensor.FromFloats([1f], 1))).ToDictionary(), file.Metadata).Write(extra);
        AssertOneLine(Assert.Throws<InvalidDataException>(() => CctModel.Load(TestDevices.Cpu, extra))!, "'surprise'");

        var nan = Path.Combine(folder, "nan.safetensors");
        var bias = file.Tensors["classifier.fc.bias"];
        var poisoned = bias.ToFloats();
        poisoned[0] = float.NaN;
        new SafeTensorsFile(file.Tensors.Select(t => t.Key == "classifier.fc.bias" ? new KeyValuePair<string, SafeTensor>(t.Key, SafeTensor.FromFloats(poisoned, bias.Shape)) : t).ToDictionary(), file.Metadata).Write(nan);
        AssertOneLine(Assert.Throws<InvalidDataException>(() => CctModel.Load(TestDevices.Cpu, nan))!, "NaN");
    }

    [Test]
    public void PredictNormalisesWithTheConfigAndReturnsASoftmax()
    {
        var config = CctPresets.Tiny with { InputMean = 0.3f, InputStd = 0.4f };
        using var model = CctModel.Create(TestDevices.Cpu, config, seed: 1, maxBatch: 2);
        var bytes = Images(5, seed: 7);
        var predictions = model.Predict(bytes);
        var scaled = model.Predict(bytes.Select(b => b / 255f).ToArray());
        var logits = model.Logits(bytes.Select(b => ((b / 255f) - 0.3f) / 0.4f).ToArray());
        Assert.That(predictions, Has.Length.EqualTo(5), "5 images in chunks of MaxBatch 2");
        for (var n = 0; n < predictions.Length; n++)
        {
            var row = logits.AsSpan(n * 10, 10).ToArray();
            Assert.That(predictions[n].Probabilities.Sum(), Is.EqualTo(1f).Within(1e-5f), "a softmax sums to 1 up to float rounding of 10 terms");
            Assert.That(predictions[n].Label, Is.EqualTo(Array.IndexOf(row, row.Max())));
            Assert.That(predictions[n].Probabilities, Is.EqualTo(scaled[n].Probabilities), "bytes are pixels / 255");
            Assert.That(predictions[n].Top(3).Select(t => t.Label).First(), Is.EqualTo(predictions[n].Label));
            Assert.That(predictions[n].Top(3).Select(t => t.Probability), Is.Ordered.Descending);
        }

        Assert.Throws<ArgumentException>(() => model.Predict(new byte[Pixels + 1]));
        Assert.Throws<ArgumentException>(() => model.Predict(ReadOnlySpan<byte>.Empty));
    }

    [Test]
    public void HostTrainStepEqualsTheDeviceStep()
    {
        using var host = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny, seed: 3, maxBatch: 4);
        using var device = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny, seed: 3, maxBatch: 4);
        var images = Normalized(Images(4, seed: 9));
        int[] labels = [0, 3, 7, 9];
        var settings = new AdamWSettings(1e-3f, 0.9f, 0.999f, 1e-8f, 0.05f);
        using var deviceImages = TestDevices.Cpu.Upload(images);
        using var deviceLabels = TestDevices.Cpu.Upload(labels);
        var losses = new List<float>();
        for (var step = 0; step < 3; step++)
        {
            losses.Add(host.TrainStep(images, labels, settings, labelSmoothing: 0.1f));
            device.TrainStep(deviceImages.View, deviceLabels.View, 4, 0.1f, settings);
            Assert.That(losses[^1], Is.EqualTo(device.ReadLoss()), "the same kernels on the same data");
        }

        Assert.That(host.Step, Is.EqualTo(3u));
        Assert.That(losses[2], Is.LessThan(losses[0]), "three AdamW steps on one batch lower its loss");
        Assert.Throws<ArgumentException>(() => host.TrainStep(images, [0, 1, 2], settings));
        Assert.Throws<ArgumentException>(() => host.TrainStep(images, [0, 1, 2, 10], settings));
    }

    [Test]
    public void FitReturnsEveryEpochReportsProgressAndRecordsTheNormalisation()
    {
        using var model = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny, seed: 0, maxBatch: 32);
        using var trainer = new Trainer(model, new TrainOptions { Epochs = 2, BatchSize = 32, LearningRate = 5e-3 });
        var data = Synthetic(96, 32);
        var updates = new List<TrainingProgress>();
        var history = trainer.Fit(data, new SynchronousProgress(updates.Add));
        Assert.That(history.Select(e => e.Epoch), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(history.All(e => double.IsFinite(e.TrainLoss) && e.TestAcc is >= 0 and <= 1), Is.True);
        Assert.That(updates.Count(u => u.CompletedEpoch is not null), Is.EqualTo(2));
        Assert.That(updates.Where(u => u.CompletedEpoch is null).Select(u => u.Batch), Has.Some.EqualTo(3), "the last batch of an epoch is always reported");
        Assert.That((model.Config.InputMean, model.Config.InputStd), Is.EqualTo((DatasetSpec.FashionMnist.Mean, DatasetSpec.FashionMnist.Std)), "unset normalisation becomes the data's");
        Assert.That(trainer.Evaluate(data.Test).Accuracy, Is.EqualTo(history[^1].TestAcc), "Evaluate scores as the last epoch did");
    }

    [Test]
    public void FitThrowsWhenCancelledAndRefusesABatchAboveMaxBatch()
    {
        using var model = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny, maxBatch: 16);
        Assert.Throws<ArgumentException>(() => _ = new Trainer(model, new TrainOptions { BatchSize = 32 }));
        using var trainer = new Trainer(model, new TrainOptions { Epochs = 3, BatchSize = 16 });
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();
        Assert.Throws<OperationCanceledException>(() => trainer.Fit(Synthetic(32, 16), cancellationToken: cancellation.Token));
        Assert.That(model.Step, Is.Zero, "cancelled before the first step");
    }

    /// <summary>
    /// The seed notebook's state_dict (notebook module names, PyTorch fixture with token attention) loads as a seed
    /// model whose eval logits match PyTorch's at the fixtures' default bound 1e-5 + 1e-4·|ref| (Compare.AssertClose):
    /// about 50× PyTorch's own fp32 error on this fixture (1.9e-6, recorded in its metadata).
    /// </summary>
    [Test]
    public void LoadReadsTheSeedNotebooksStateDict()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "seed_notebook.safetensors");
        var fixture = SafeTensorsFile.Read(path);
        var notebookOnly = Path.Combine(folder, "notebook.safetensors");
        new SafeTensorsFile(fixture.Tensors.Where(t => !t.Key.StartsWith("fixture.", StringComparison.Ordinal)).ToDictionary()).Write(notebookOnly);
        using var model = CctModel.Load(TestDevices.Cpu, notebookOnly);
        Assert.That(model.Config, Is.EqualTo(CctPresets.Seed));
        Assert.That(model.ParameterCount, Is.EqualTo(801_770));
        Compare.AssertClose(model.Logits(fixture["fixture.input"].ToFloats()), fixture["fixture.logits"].ToFloats(), "seed_notebook.logits");
    }

    private static void AssertOneLine(Exception e, string fragment)
    {
        Assert.That(e.Message, Does.Contain(fragment));
        Assert.That(e.Message, Does.Not.Contain('\n'));
    }

    private static byte[] Images(int count, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[count * Pixels];
        random.NextBytes(pixels);
        return pixels;
    }

    private static float[] Normalized(byte[] pixels) => pixels.Select(p => ((p / 255f) - 0.286f) / 0.353f).ToArray();

    private static TrainingData Synthetic(int train, int test)
    {
        static ImageDataset Set(int count, int seed)
        {
            var labels = Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray();
            return new ImageDataset(28, 28, Images(count, seed), labels, DatasetSpec.FashionMnist.ClassNames);
        }

        return new TrainingData(Set(train, 11), Set(test, 12), DatasetSpec.FashionMnist);
    }

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
