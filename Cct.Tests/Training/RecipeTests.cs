using Cct.Gpu.Data;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Checkpoints;
using Cct.Training.Data;
using Cct.Training.Reports;
using Cct.Training.Training;
using Cct.Tests.Support;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Tests.Training;

/// <summary>
/// Issue 17's recipe parts on the CPU accelerator, each against a host computation: the weight EMA, test-time
/// augmentation, the one-cycle schedule, random erasing, the recipe table, resume with EMA, and batch-independent
/// predictions of the seed and cct-7/3x1 models.
/// </summary>
public sealed class RecipeTests
{
    private const int Side = 28;
    private const int Pixels = Side * Side;

    // EMA weights and probabilities lie in [−1, 1] and come from a few fp32 operations each (an EMA update, a softmax
    // over 10 classes, a mean of up to 6 views), so they carry ~1e-7 of rounding; 1e-6 absolute leaves 10× margin and
    // still sees a wrong decay (≥ 1e-3 apart) or a missed view.
    private static readonly Tolerance FewRoundings = new("a few fp32 roundings", 1e-6, 0);
    private string folder = "";

    [SetUp]
    public void CreateFolder() => folder = Directory.CreateTempSubdirectory("cct-recipe-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(folder, recursive: true);

    /// <summary>
    /// The EMA kernel against the host's a + r·(v − a) over five updates. The CPU accelerator runs the kernel as .NET
    /// fp32 code, so the two agree to the bit there; the bound, 1e-6 on values in [−1, 1], leaves a GPU's fused
    /// multiply-add (≤ 1 ulp, 6e-8, per update) room over five updates and still fails on any wrong formula.
    /// </summary>
    [Test]
    public void WeightAverageKernelEqualsTheHostAverage()
    {
        var device = TestDevices.Cpu;
        var random = new Random(17);
        const int Count = 1001;
        var host = Uniform(random, Count);
        using var average = device.Upload(host);
        float[] rates = [0.82f, 0.5f, 0.1f, 0.01f, 0.001f];
        foreach (var rate in rates)
        {
            var values = Uniform(random, Count);
            using var onDevice = device.Upload(values);
            WeightAverage.For(device).Update(average.View, onDevice.View, rate);
            for (var i = 0; i < Count; i++)
            {
                host[i] += rate * (values[i] - host[i]);
            }
        }

        Compare.AssertClose(average.Read(), host, "ema kernel", FewRoundings);
    }

    /// <summary>
    /// Fit with EMA: after each one-step epoch the average is the host's EMA of the weights seen so far, with TensorFlow's
    /// warm-up decay min(d, (1 + s)/(10 + s)) written out here independently; evaluation scores the averaged weights and
    /// leaves the live ones bit for bit as they were. Bounds as in <see cref="WeightAverageKernelEqualsTheHostAverage"/>;
    /// the probabilities' 1e-6 is the softmax's fp32 rounding, far below the gap between the live and averaged weights.
    /// </summary>
    [Test]
    public void FitAveragesTheWeightsAfterEveryStepAndEvaluatesTheAverage()
    {
        const double Decay = 0.9;
        using var model = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny, seed: 2, maxBatch: 16);
        var options = new TrainOptions { Epochs = 3, BatchSize = 16, LearningRate = 5e-3, Ema = Decay, Crop = false, Flip = false };
        using var trainer = new Trainer(model, options);
        var data = Synthetic(16, 8);
        var weights = new List<float[]> { ReadValues(model) };
        var sink = new RecordingSink(() => weights.Add(ReadValues(model)));
        var result = trainer.Fit(data, new TrainingState(), sink, null, CancellationToken.None);
        Assert.That(result.State.Step, Is.EqualTo(3));

        var host = (float[])weights[0].Clone();
        for (var s = 1; s <= 3; s++)
        {
            var rate = (float)(1 - Math.Min(Decay, (1.0 + s) / (10.0 + s)));
            for (var i = 0; i < host.Length; i++)
            {
                host[i] += rate * (weights[s][i] - host[i]);
            }
        }

        var average = Read(model.ParameterAverage);
        Compare.AssertClose(average, host, "ema after 3 steps", FewRoundings);
        Assert.That(MaxDifference(average, weights[3]), Is.GreaterThan(1e-4), "the average lags the live weights");

        var live = ReadValues(model);
        var evaluation = trainer.Evaluate(data.Test);
        Assert.That(ReadValues(model), Is.EqualTo(live), "evaluation puts the live weights back exactly");

        using var averaged = CctModel.Create(TestDevices.Cpu, model.Config, seed: 0, maxBatch: 16);
        averaged.Parameters.Values.View.CopyFromCPU(average);
        averaged.BufferValues.CopyFromCPU(Read(model.BufferAverage));
        var expected = averaged.Logits(Normalize(averaged, data.Test.Pixels)).Chunk(10).SelectMany(l => CctModel.Softmax(l)).ToArray();
        Compare.AssertClose(evaluation.Probabilities, expected, "evaluation with the averaged weights", FewRoundings);
        Assert.That(result.Epochs[^1].TestAcc, Is.EqualTo(evaluation.Accuracy), "the epochs score the average too");
    }

    /// <summary>
    /// TTA against the host: each of the six flip-translate views built here from the bytes (mirror, shift, zero fill,
    /// normalise), run alone through the model, softmaxed and averaged in double. The device's softmax and the host's
    /// differ by fp32 rounding of exp and the sum (≤ ~1e-7 per probability), hence 1e-6; the loss is −ln of the average.
    /// </summary>
    [TestCase(TestTimeAugmentation.Flip)]
    [TestCase(TestTimeAugmentation.FlipTranslate)]
    public void TestTimeAugmentationAveragesThePerViewSoftmax(TestTimeAugmentation tta)
    {
        using var model = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny with { InputMean = 0.2860f, InputStd = 0.3530f }, seed: 4, maxBatch: 4);
        var test = Synthetic(4, 6).Test;
        using var onDevice = new DeviceDataset(TestDevices.Cpu, test);
        using var evaluator = new Evaluator(TestDevices.Cpu, model);
        var evaluation = evaluator.Run(onDevice, tta);
        var plain = evaluator.Run(onDevice, TestTimeAugmentation.None);

        var views = Evaluator.Views(tta);
        Assert.That(views, Has.Count.EqualTo(tta == TestTimeAugmentation.Flip ? 2 : 6));
        var expected = new double[test.Count * 10];
        foreach (var view in views)
        {
            var images = new float[test.Count * Pixels];
            for (var n = 0; n < test.Count; n++)
            {
                HostView(test.Pixels.AsSpan(n * Pixels, Pixels), view).CopyTo(images.AsSpan(n * Pixels));
            }

            var logits = model.Logits(images);
            for (var n = 0; n < test.Count; n++)
            {
                var p = CctModel.Softmax(logits.AsSpan(n * 10, 10));
                for (var k = 0; k < 10; k++)
                {
                    expected[(n * 10) + k] += p[k] / (double)views.Count;
                }
            }
        }

        Compare.AssertClose(evaluation.Probabilities, Array.ConvertAll(expected, v => (float)v), "tta probabilities", FewRoundings);
        var labels = test.LabelsAsInts();
        var loss = Enumerable.Range(0, test.Count).Average(n => -Math.Log(expected[(n * 10) + labels[n]]));
        Assert.That(evaluation.Loss, Is.EqualTo(loss).Within(1e-5), "loss is the cross-entropy of the averaged softmax");
        Assert.That(evaluation.Predictions, Is.EqualTo(Enumerable.Range(0, test.Count).Select(n => ArgMax(expected.AsSpan(n * 10, 10))).ToArray()));
        Assert.That(MaxDifference(evaluation.Probabilities, plain.Probabilities), Is.GreaterThan(1e-4), "the views change the probabilities");
    }

    /// <summary>The one-cycle schedule against its formula written out here, with and without warmup epochs (exact up to double rounding, 1e-15).</summary>
    [TestCase(0, 25)]
    [TestCase(2, 50)]
    public void OneCycleIsTheTriangleOfItsFormula(int warmupEpochs, int peak)
    {
        const double Rate = 0.01;
        const int Total = 100;
        var schedule = LearningRateSchedule.For(new TrainOptions { Epochs = 4, LearningRate = Rate, WarmupEpochs = warmupEpochs, Schedule = LearningRateScheduleKind.OneCycle }, batchesPerEpoch: 25);
        for (var s = 0; s < Total; s++)
        {
            var expected = s < peak ? Rate * (0.2 + (0.8 * s / peak)) : Rate * (Total - s) / (Total - peak);
            Assert.That(schedule.At(s), Is.EqualTo(expected).Within(1e-15), $"step {s}");
        }

        Assert.That(schedule.At(0), Is.EqualTo(0.2 * Rate).Within(1e-15));
        Assert.That(schedule.At(peak), Is.EqualTo(Rate).Within(1e-15));
        Assert.That(schedule.At(Total - 1), Is.GreaterThan(0), "the last step still trains");
        Assert.That(schedule.At(Total), Is.Zero);
    }

    /// <summary>
    /// Random erasing: a function of the key (same key, same bytes; another seed or step, other rectangles); with crop and
    /// flip drawn as without it, so the only change is a rectangle per erased image set to exactly 0, inside the image and
    /// 2–33 % of it (±rounding of its sides); about half of 64 images are erased.
    /// </summary>
    [Test]
    public void ErasingIsAFunctionOfTheSeedAndErasesOneRectangle()
    {
        const int Count = 64;
        var pixels = new byte[Count * Pixels];
        new Random(5).NextBytes(pixels);
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)Math.Max(1, (int)pixels[i]); // never the mean, so an erased 0 cannot occur naturally
        }

        var key = new RngKey(9, 7000, 3);
        var erase = new BatchAugmentation(true, true, 2, Erase: true);
        var erased = AssembleBatch(pixels, Count, erase, key);
        Assert.That(AssembleBatch(pixels, Count, erase, key), Is.EqualTo(erased), "same key, same batch");
        Assert.That(AssembleBatch(pixels, Count, erase, key with { Seed = 10 }), Is.Not.EqualTo(erased));
        Assert.That(AssembleBatch(pixels, Count, erase, key with { Step = 4 }), Is.Not.EqualTo(erased));

        var whole = AssembleBatch(pixels, Count, erase with { Erase = false }, key);
        var erasedImages = 0;
        for (var b = 0; b < Count; b++)
        {
            var changed = Enumerable.Range(0, Pixels).Where(i => erased[(b * Pixels) + i] != whole[(b * Pixels) + i]).ToList();
            if (changed.Count == 0)
            {
                continue;
            }

            erasedImages++;
            Assert.That(changed.All(i => erased[(b * Pixels) + i] == 0f), Is.True, $"image {b}: erased pixels are 0 (the mean)");
            var (top, bottom) = (changed.Min(i => i / Side), changed.Max(i => i / Side));
            var (left, right) = (changed.Min(i => i % Side), changed.Max(i => i % Side));
            var area = (bottom - top + 1) * (right - left + 1);

            // Pixels of the rectangle that were already 0 (the crop's zero-padded border normalises to −0.81, not 0) do not change.
            Assert.That(changed, Has.Count.EqualTo(area), $"image {b}: one filled rectangle");
            Assert.That(area, Is.InRange(0.02 * Pixels * 0.7, 0.33 * Pixels * 1.3), $"image {b}: area {area}");
        }

        Assert.That(erasedImages, Is.InRange(18, 46), "erasing probability is not about 0.5");
    }

    /// <summary>A recipe's name gives its options through the table; every model preset has a default, the seed model the notebook's.</summary>
    [Test]
    public void RecipesComeFromTheTypedTable()
    {
        Assert.That(TrainingRecipes.Names, Is.Unique);
        Assert.That(TrainingRecipes.ByName("speed"), Is.SameAs(TrainingRecipes.Speed));
        Assert.That(TrainingRecipes.ByName("best").Model, Is.EqualTo("cct-7/3x1"));
        Assert.That(TrainingRecipes.ByName("seed").Model, Is.EqualTo("seed"));
        Assert.Throws<ArgumentException>(() => TrainingRecipes.ByName("fastest"));
        foreach (var recipe in TrainingRecipes.All)
        {
            Assert.DoesNotThrow(recipe.Options.Validate, recipe.Name);
            Assert.That(CctConfig.PresetNames, Does.Contain(recipe.Model), recipe.Name);
            Assert.DoesNotThrow(recipe.ModelConfig.Validate, recipe.Name);
            Assert.That(recipe.ModelConfig, Is.EqualTo(recipe.Config ?? CctConfig.Preset(recipe.Model)), recipe.Name);
        }

        // cpu changes its preset: cct-tiny with 12 channels after its first convolution, 8,999 parameters (8,099 with 8).
        var cpu = TrainingRecipes.ByName("cpu").ModelConfig;
        Assert.That(cpu.TokenizerChannels, Is.EqualTo(new[] { 12, 24 }));
        using (var model = new CctModel(TestDevices.Cpu, cpu, 1))
        {
            Assert.That(model.Parameters.Count, Is.EqualTo(8_999));
        }

        foreach (var preset in CctConfig.PresetNames)
        {
            Assert.That(TrainOptions.ForPreset(preset), Is.EqualTo(TrainingRecipes.ForModel(preset).Options), preset);
        }

        Assert.That(TrainOptions.ForPreset("seed"), Is.EqualTo(TrainingRecipes.Notebook.Options));
        Assert.That(TrainOptions.ForPreset("cct-2/3x2"), Is.EqualTo(TrainingRecipes.Official.Options));
        Assert.That(new TrainOptions { BatchSize = 128, LearningRate = 5.5e-4 }.WithBatchScaledLearningRate(512).LearningRate, Is.EqualTo(2.2e-3).Within(1e-15));
    }

    /// <summary>
    /// N + M epochs in one go equal N epochs, then a resume for M more, bit for bit, with EMA, erasing, one-cycle and
    /// TTA on: the checkpoint holds the average (optimizer.ema.*), and a resume restores it exactly.
    /// </summary>
    [Test]
    public void ResumeWithEmaContinuesExactly()
    {
        var data = Synthetic(48, 16);
        var options = new TrainOptions
        {
            Epochs = 3, BatchSize = 16, LearningRate = 5e-3, Seed = 3, Ema = 0.95, Erase = true, CropPadding = 2,
            Schedule = LearningRateScheduleKind.OneCycle, Tta = TestTimeAugmentation.Flip,
        };
        var once = Path.Combine(folder, "once");
        var split = Path.Combine(folder, "split");
        Train(once, options, data, resume: null);
        Train(split, options with { StopAfter = 1 }, data, resume: null);
        Train(split, options, data, Checkpoint.Load(Path.Combine(split, RunFolder.LastCheckpointName)));

        var a = Gpu.IO.SafeTensorsFile.Read(Path.Combine(once, RunFolder.LastCheckpointName));
        var b = Gpu.IO.SafeTensorsFile.Read(Path.Combine(split, RunFolder.LastCheckpointName));
        Assert.That(a.Tensors.Keys, Has.Some.StartsWith("optimizer.ema."));
        Assert.That(b.Tensors.Keys, Is.EquivalentTo(a.Tensors.Keys));
        foreach (var (name, tensor) in a.Tensors)
        {
            Assert.That(b[name].Data, Is.EqualTo(tensor.Data), name);
        }

        var epochs = RunFolder.ReadEpochs(split)!;
        Assert.That(epochs.Select(e => e.TestAcc), Is.EqualTo(RunFolder.ReadEpochs(once)!.Select(e => e.TestAcc)));
        var seconds = epochs.Select(e => e.TrainingSeconds ?? -1).ToList();
        Assert.That(seconds, Is.All.GreaterThan(0));
        Assert.That(seconds, Is.Ordered.Ascending, "training time accumulates across the resume");
        Assert.That(Checkpoint.Load(Path.Combine(split, RunFolder.LastCheckpointName)).HasWeightAverage, Is.True);
    }

    /// <summary>--target-accuracy stops at the first epoch that reaches it and records the time and how it was measured (a target of 0.05 on 10 classes is met at once).</summary>
    [Test]
    public void TargetAccuracyStopsAtTheFirstEpochThatReachesIt()
    {
        var data = Synthetic(32, 16);
        var options = new TrainOptions { Epochs = 5, BatchSize = 16, LearningRate = 5e-3, TargetAccuracy = 0.05 };
        using var model = CctModel.Create(TestDevices.Cpu, CctPresets.Tiny, seed: 1, maxBatch: 16);
        using var trainer = new Trainer(model, options);
        using var run = RunFolder.StartOrResume(Path.Combine(folder, "target"), model, options, data);
        var result = trainer.Fit(data, run.State, run, null, CancellationToken.None);
        var first = result.Epochs.ToList().FindIndex(e => e.TestAcc >= 0.05);
        Assert.That(result.Outcome, Is.EqualTo(TrainingOutcome.ReachedTarget));
        Assert.That(result.Epochs, Has.Count.EqualTo(first + 1));
        var logged = RunFolder.ReadEpochs(run.Path)![^1];
        Assert.That(logged.TargetAccuracy, Is.EqualTo(0.05));
        Assert.That(logged.Timing, Is.EqualTo(EpochMetrics.TimingMethod));
        Assert.That(logged.TrainingSeconds, Is.EqualTo(result.State.TrainingSeconds).And.GreaterThan(0));
        // The first step's time t1 is replaced by the mean of the epoch's other step: (s − t1)·2/1 for 2 steps, at most 2s.
        Assert.That(logged.TrainingSeconds, Is.LessThanOrEqualTo(2 * result.Epochs.Sum(e => e.Seconds)));
    }

    /// <summary>
    /// Predictions at batch 1 equal those at a larger batch for the seed model and cct-7/3x1 (the real presets): eval-mode
    /// BatchNorm uses running statistics (set here to non-trivial values) and attention runs over each image's tokens,
    /// so no image sees another. Here the batch is 4: one cct-7/3x1 forward takes seconds on the CPU simulator, and a
    /// batch of 1000 of it would need 29 GB for its training buffers; the 1000 runs on CUDA (category Gpu, below).
    /// Batch independence holds or fails from a batch of 2 on. The bound is the fixtures' (1e-5 + 1e-4·|ref|): rows of a
    /// matmul may be blocked differently at another batch; mixing images, or BatchNorm with batch statistics, moves
    /// logits by O(1).
    /// </summary>
    [TestCase("seed")]
    [TestCase("cct-7/3x1")]
    public void PredictionsAtBatchOneEqualThoseOfABatch(string preset) => CheckBatchIndependence(TestDevices.Cpu, preset, 4);

    /// <summary>The same at the batch of 1000, on a CUDA GPU (the GPU kernels, fused attention, tiled GEMMs).</summary>
    [TestCase("seed")]
    [TestCase("cct-7/3x1")]
    [Category("Gpu")]
    public void PredictionsAtBatchOneEqualThoseOfABatchOf1000OnCuda(string preset) => CheckBatchIndependence(TestDevices.Cuda(), preset, 1000);

    private static void CheckBatchIndependence(ComputeDevice device, string preset, int batch)
    {
        using var model = CctModel.Create(device, CctConfig.Preset(preset) with { InputMean = 0.2860f, InputStd = 0.3530f }, seed: 8, maxBatch: batch);
        var random = new Random(21);
        foreach (var slot in model.BufferLayout.Slots.Where(s => s.Name.EndsWith(".running_mean", StringComparison.Ordinal) || s.Name.EndsWith(".running_var", StringComparison.Ordinal)))
        {
            var variance = slot.Name.EndsWith("_var", StringComparison.Ordinal);
            model.WriteBuffer(slot.Name, Enumerable.Range(0, (int)slot.Length).Select(_ => variance ? 0.5f + random.NextSingle() : random.NextSingle() - 0.5f).ToArray());
        }

        var images = Normalize(model, Synthetic(batch, batch).Test.Pixels);
        var together = model.Logits(images);
        var alone = Enumerable.Range(0, batch).SelectMany(n => model.Logits(images.AsSpan(n * Pixels, Pixels))).ToArray();
        Compare.AssertClose(alone, together, $"{preset} batch 1 vs {batch}");
        Assert.That(
            Enumerable.Range(0, batch).Select(n => ArgMax(alone.AsSpan(n * 10, 10))),
            Is.EqualTo(Enumerable.Range(0, batch).Select(n => ArgMax(together.AsSpan(n * 10, 10)))));
    }

    private static void Train(string path, TrainOptions options, TrainingData data, Checkpoint? resume)
    {
        using var model = resume is null ? CctModel.Create(TestDevices.Cpu, CctPresets.Tiny, options.Seed, options.BatchSize) : new CctModel(TestDevices.Cpu, resume.Config, options.BatchSize);
        using var trainer = new Trainer(model, options);
        using var run = RunFolder.StartOrResume(path, model, options, data, resume);
        trainer.Fit(data, run.State, run, null, CancellationToken.None);
    }

    private static float[] AssembleBatch(byte[] pixels, int count, BatchAugmentation augmentation, RngKey key)
    {
        var device = TestDevices.Cpu;
        var assembler = BatchAssembler.For(device);
        using var onDevice = assembler.UploadPixels(pixels);
        using var indices = device.Upload(Enumerable.Range(0, count).ToArray());
        using var output = device.Allocate(count * Pixels);
        assembler.Assemble(output.View, onDevice.View, indices.View, count, Side, Side, 0.2860f, 0.3530f, augmentation, BatchView.Identity, key);
        return output.Read();
    }

    /// <summary>Host reference of a <see cref="BatchView"/>: mirror, read at (y + dy, x + dx) with 0 outside, normalise as the model does.</summary>
    private static float[] HostView(ReadOnlySpan<byte> image, BatchView view)
    {
        var result = new float[Pixels];
        for (var y = 0; y < Side; y++)
        {
            for (var x = 0; x < Side; x++)
            {
                var (sy, sx) = (y + view.ShiftY, (view.Mirror ? Side - 1 - x : x) + view.ShiftX);
                var p = sy is >= 0 and < Side && sx is >= 0 and < Side ? image[(sy * Side) + sx] : (byte)0;
                result[(y * Side) + x] = ((p / 255f) - 0.2860f) / 0.3530f;
            }
        }

        return result;
    }

    private static float[] Normalize(CctModel model, byte[] pixels)
    {
        var (mean, std) = model.InputNormalization;
        return pixels.Select(p => ((p / 255f) - mean) / std).ToArray();
    }

    private static float[] ReadValues(CctModel model) => model.Parameters.Values.Read();

    private static float[] Read(ArrayView<float> view)
    {
        var data = new float[view.Length];
        view.CopyToCPU(data);
        return data;
    }

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        var best = 0;
        for (var k = 1; k < row.Length; k++)
        {
            best = row[k] > row[best] ? k : best;
        }

        return best;
    }

    private static int ArgMax(ReadOnlySpan<double> row)
    {
        var best = 0;
        for (var k = 1; k < row.Length; k++)
        {
            best = row[k] > row[best] ? k : best;
        }

        return best;
    }

    private static float[] Uniform(Random random, int count) => Enumerable.Range(0, count).Select(_ => (random.NextSingle() * 2) - 1).ToArray();

    private static TrainingData Synthetic(int train, int test)
    {
        static ImageDataset Set(int count, int seed)
        {
            var random = new Random(seed);
            var pixels = new byte[count * Pixels];
            random.NextBytes(pixels);
            var labels = Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray();
            return new ImageDataset(Side, Side, pixels, labels, DatasetSpec.FashionMnist.ClassNames);
        }

        return new TrainingData(Set(train, 1), Set(test, 2), DatasetSpec.FashionMnist);
    }

    private sealed class RecordingSink(Action onEpoch) : IEpochSink
    {
        public void EpochCompleted(Trainer trainer, TrainingState state, EpochMetrics metrics, bool improved) => onEpoch();

        public void Interrupted(Trainer trainer, TrainingState state)
        {
        }
    }
}
