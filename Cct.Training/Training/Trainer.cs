using System.Diagnostics;
using Cct.Gpu.Data;
using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Checkpoints;
using Cct.Training.Data;
using Cct.Training.Reports;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Training.Training;

/// <summary>What the CLI's progress display is told while training runs.</summary>
internal interface ITrainingProgress
{
    /// <summary>A periodic update within an epoch (about twice a second).</summary>
    void Update(int epoch, int epochs, int batch, int batches, double loss, double accuracy, double imagesPerSecond);

    void EpochCompleted(EpochMetrics metrics, bool improved);

    void Message(string text);
}

/// <summary>Training stopped because the loss became NaN or infinite.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>An exception with a one-line <paramref name="message"/>.</summary>
    public TrainingDivergedException(string message)
        : base(message)
    {
    }

    /// <summary>An exception with the default message.</summary>
    public TrainingDivergedException()
    {
    }

    /// <summary>An exception with a one-line <paramref name="message"/> and its cause.</summary>
    public TrainingDivergedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>How a training run ended.</summary>
internal enum TrainingOutcome
{
    Completed,
    EarlyStopped,
    StoppedAfterRequestedEpochs,
    Interrupted,
}

/// <summary>Where training stands, reported about twice a second and once after every epoch.</summary>
/// <param name="Epoch">the epoch running, from 1</param>
/// <param name="Epochs">epochs in the run</param>
/// <param name="Batch">batches done in this epoch</param>
/// <param name="Batches">batches in an epoch</param>
/// <param name="Loss">mean training loss of the epoch so far</param>
/// <param name="Accuracy">training accuracy of the epoch so far, in [0, 1]</param>
/// <param name="ImagesPerSecond">training throughput of the epoch so far</param>
/// <param name="CompletedEpoch">set once an epoch ends: its metrics, test accuracy included</param>
public sealed record TrainingProgress(int Epoch, int Epochs, int Batch, int Batches, double Loss, double Accuracy, double ImagesPerSecond, EpochMetrics? CompletedEpoch);

/// <summary>
/// The training loop: data order from (seed, epoch), augmentation and dropout from (seed, step), AdamW
/// over the flat parameter buffer, warmup + cosine learning rate. A step launches kernels only; the host
/// reads the device-side running sums when it reports progress. The CLI's runs also append every epoch to
/// metrics.jsonl and write checkpoint-last (and checkpoint-best on improvement) atomically.
/// </summary>
public sealed class Trainer : IDisposable
{
    internal const string LastCheckpoint = "checkpoint-last.safetensors";
    internal const string BestCheckpoint = "checkpoint-best.safetensors";
    private const uint AugmentStream = 7000;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(500);

    private readonly ComputeDevice device;
    private readonly TrainOptions options;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> images;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> labels;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> statistics;
    private readonly Evaluator evaluator;

    /// <summary>
    /// A trainer for <paramref name="model"/> with the recipe in <paramref name="options"/> (its model config,
    /// preset, dataset and accelerator are the CLI's and are not used here: the model fixes those).
    /// </summary>
    /// <exception cref="ArgumentException">an option is out of range, or the batch exceeds the model's <see cref="CctModel.MaxBatch"/></exception>
    public Trainer(CctModel model, TrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.BatchSize > model.MaxBatch)
        {
            throw new ArgumentException($"batch {options.BatchSize} exceeds the model's MaxBatch {model.MaxBatch}; create the model with maxBatch: {options.BatchSize}", nameof(options));
        }

        Model = model;
        device = model.Device;
        this.options = options;
        var c = model.Config;
        images = device.Allocate((long)options.BatchSize * c.InChannels * c.ImageSize * c.ImageSize); // (B, C, S, S)
        labels = device.Accelerator.Allocate1D<int>(options.BatchSize); // (B)
        statistics = device.Allocate(TrainingStatistics.Length);
        evaluator = new Evaluator(device, model);
    }

    /// <summary>The model being trained (not owned: disposing the trainer leaves it alive).</summary>
    public CctModel Model { get; }

    /// <summary>The test-only fault to inject (<see cref="FaultInjection"/>); none by default.</summary>
    internal FaultInjection Faults { get; init; } = FaultInjection.FromEnvironment();

    /// <summary>
    /// Trains for <see cref="TrainOptions.Epochs"/> epochs on <paramref name="data"/> (after the options'
    /// validation split and limits), scoring the test set after each, and returns every epoch's metrics. With a
    /// validation set, <see cref="TrainOptions.Patience"/> stops early. Cancelling stops after the current step and
    /// returns the epochs completed so far. The model's unset input normalisation becomes the data's statistics.
    /// </summary>
    /// <exception cref="TrainingDivergedException">the loss became NaN or infinite</exception>
    /// <exception cref="ArgumentException">the data's images or classes do not fit the model</exception>
    public IReadOnlyList<EpochMetrics> Fit(TrainingData data, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var prepared = data.For(options);
        var c = Model.Config;
        if (prepared.Spec.ClassCount != c.Classes || prepared.Train.Rows != c.ImageSize || prepared.Train.Cols != c.ImageSize || c.InChannels != 1)
        {
            throw new ArgumentException($"the model takes {c.InChannels}x{c.ImageSize}x{c.ImageSize} images in {c.Classes} classes; {prepared.Spec.Name} has 1x{prepared.Train.Rows}x{prepared.Train.Cols} in {prepared.Spec.ClassCount}", nameof(data));
        }

        using var train = new DeviceDataset(device, prepared.Train);
        using var validation = prepared.Validation is null ? null : new DeviceDataset(device, prepared.Validation);
        using var test = new DeviceDataset(device, prepared.Test);
        var history = new HistoryProgress(progress);
        Run(outputDirectory: null, new TrainingState(), train, validation, test, prepared.Spec, history, cancellationToken);
        return history.Epochs;
    }

    /// <summary>Scores <paramref name="data"/> in eval mode: probabilities, predictions, mean cross-entropy and accuracy.</summary>
    public Evaluation Evaluate(ImageDataset data)
    {
        using var onDevice = new DeviceDataset(device, data);
        return Evaluate(onDevice);
    }

    /// <summary>
    /// The epoch order: a Fisher–Yates permutation drawn from the <see cref="SeededRandom"/>
    /// stream (seed, epoch order, epoch), so it depends only on (seed, epoch) and is the same in every process.
    /// </summary>
    internal static int[] EpochOrder(int count, int seed, int epoch)
    {
        var random = SeededRandom.For(seed, SeededRandom.EpochOrderStream, epoch);
        var indices = Enumerable.Range(0, count).ToArray();
        random.Shuffle(indices);
        return indices;
    }

    /// <summary>
    /// Runs from <paramref name="state"/> to the last epoch. With an <paramref name="outputDirectory"/> (the CLI) every
    /// epoch appends to metrics.jsonl and saves checkpoints, and an interruption saves checkpoint-last to resume from.
    /// </summary>
    internal TrainingOutcome Run(string? outputDirectory, TrainingState state, DeviceDataset train, DeviceDataset? validation, DeviceDataset test, DatasetSpec spec, ITrainingProgress progress, CancellationToken cancellation)
    {
        Model.ResolveInputNormalization(spec.Mean, spec.Std);
        if (outputDirectory is not null)
        {
            Directory.CreateDirectory(outputDirectory);
        }

        var batchesPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
        var schedule = new LearningRateSchedule(
            options.LearningRate,
            (long)options.WarmupEpochs * batchesPerEpoch,
            options.Schedule == LearningRateScheduleKind.Cosine ? (long)options.Epochs * batchesPerEpoch : long.MaxValue);
        using var order = device.Accelerator.Allocate1D<int>(Math.Max(1, train.Count)); // (N)
        var epochsThisRun = 0;
        while (state.Epoch < options.Epochs)
        {
            var epoch = state.Epoch + 1;
            var (next, interrupted, epochStats) = RunEpoch(epoch, state, train, order, schedule, progress, cancellation);
            state = next;
            if (interrupted)
            {
                if (outputDirectory is not null)
                {
                    Checkpoint.Save(Path.Combine(outputDirectory, LastCheckpoint), Model, options, state, Faults.BeforeCheckpointRename);
                    progress.Message($"interrupted: saved {LastCheckpoint} at epoch {epoch}, batch {state.BatchInEpoch}; continue with --resume");
                }

                return TrainingOutcome.Interrupted;
            }

            var val = validation is null ? null : Evaluate(validation);
            var testResult = Evaluate(test);
            var metrics = new EpochMetrics(
                epoch,
                epochStats.Loss,
                epochStats.Accuracy,
                val?.Loss,
                val?.Accuracy,
                testResult.Accuracy,
                schedule.At(Math.Max(0, state.Step - 1)),
                epochStats.ImagesPerSecond,
                epochStats.Seconds);

            // Best by validation loss, or by training loss without a validation split.
            var score = val?.Loss ?? epochStats.Loss;
            var improved = score < state.BestMetric;
            state = improved
                ? state with { BestMetric = score, BestEpoch = epoch, EpochsWithoutImprovement = 0 }
                : state with { EpochsWithoutImprovement = state.EpochsWithoutImprovement + 1 };
            if (outputDirectory is not null)
            {
                MetricsLog.Append(Path.Combine(outputDirectory, MetricsLog.FileName), metrics);
                if (improved)
                {
                    Checkpoint.Save(Path.Combine(outputDirectory, BestCheckpoint), Model, options, state, Faults.BeforeCheckpointRename);
                }

                Checkpoint.Save(Path.Combine(outputDirectory, LastCheckpoint), Model, options, state, Faults.BeforeCheckpointRename);
            }

            progress.EpochCompleted(metrics, improved);
            epochsThisRun++;
            if (validation is not null && options.Patience > 0 && state.EpochsWithoutImprovement >= options.Patience)
            {
                progress.Message($"early stopping: validation loss has not improved for {options.Patience} epochs (best at epoch {state.BestEpoch})");
                return TrainingOutcome.EarlyStopped;
            }

            if (options.StopAfter > 0 && epochsThisRun >= options.StopAfter && state.Epoch < options.Epochs)
            {
                return TrainingOutcome.StoppedAfterRequestedEpochs;
            }
        }

        return TrainingOutcome.Completed;
    }

    internal Evaluation Evaluate(DeviceDataset data)
        => evaluator.Run(data, Model.Config.InputMean ?? DatasetSpec.FashionMnist.Mean, Model.Config.InputStd ?? DatasetSpec.FashionMnist.Std);

    /// <summary>Frees the trainer's device buffers; the model stays.</summary>
    public void Dispose()
    {
        evaluator.Dispose();
        images.Dispose();
        labels.Dispose();
        statistics.Dispose();
    }

    private (TrainingState State, bool Interrupted, EpochStatistics Stats) RunEpoch(int epoch, TrainingState state, DeviceDataset train, MemoryBuffer1D<int, Stride1D.Dense> order, LearningRateSchedule schedule, ITrainingProgress progress, CancellationToken cancellation)
    {
        var batches = (train.Count + options.BatchSize - 1) / options.BatchSize;
        var c = Model.Config;
        var mean = c.InputMean!.Value;
        var std = c.InputStd!.Value;
        var permutation = EpochOrder(train.Count, options.Seed, epoch);
        order.View.SubView(0, permutation.Length).CopyFromCPU(permutation);
        if (state.BatchInEpoch > 0 && state.EpochSums is { } saved)
        {
            statistics.View.SubView(0, TrainingStatistics.Length).CopyFromCPU(saved.ToArray());
        }
        else
        {
            TrainingStatistics.Reset(statistics.View);
        }
        var assembler = BatchAssembler.For(device);
        var accumulate = TrainingStatistics.For(device);
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        var imagesSeen = 0L;
        var step = state.Step;
        var batch = state.BatchInEpoch;
        var interrupted = false;
        for (; batch < batches; batch++)
        {
            if (cancellation.IsCancellationRequested)
            {
                interrupted = true;
                break;
            }

            var start = batch * options.BatchSize;
            var size = Math.Min(options.BatchSize, train.Count - start);
            var indices = order.View.SubView(start, size);
            assembler.Assemble(images.View, train.Pixels.View, indices, size, c.ImageSize, c.ImageSize, mean, std, options.Crop, options.Flip, new RngKey((uint)options.Seed, AugmentStream, (uint)step));
            assembler.GatherLabels(labels.View, train.Labels.View, indices, size);
            Model.Step = (uint)step;
            var settings = new AdamWSettings((float)schedule.At(step), (float)options.Beta1, (float)options.Beta2, (float)options.AdamEpsilon, (float)options.WeightDecay);
            Model.TrainStep(images.View, labels.View, size, (float)options.LabelSmoothing, settings);
            accumulate.Accumulate(statistics.View, Model.Losses, Model.Probabilities, labels.View, size, c.Classes, (int)step);
            Faults.AfterStep(step);
            step++;
            imagesSeen += size;
            if (clock.Elapsed - lastReport >= ProgressInterval || batch == batches - 1)
            {
                lastReport = clock.Elapsed;
                var sums = ReadStatistics();
                progress.Update(epoch, options.Epochs, batch + 1, batches, sums.Loss, sums.Accuracy, imagesSeen / Math.Max(1e-9, clock.Elapsed.TotalSeconds));
            }
        }

        var final = ReadStatistics();
        var seconds = clock.Elapsed.TotalSeconds;
        var next = interrupted
            ? state with { Step = step, BatchInEpoch = batch, EpochSums = final.Sums }
            : state with { Step = step, BatchInEpoch = 0, Epoch = epoch, EpochSums = null };
        return (next, interrupted, new EpochStatistics(final.Loss, final.Accuracy, imagesSeen / Math.Max(1e-9, seconds), seconds));
    }

    // Reading synchronises with the device; it also surfaces the first non-finite loss.
    private (double Loss, double Accuracy, float[] Sums) ReadStatistics()
    {
        var sums = new float[TrainingStatistics.Length];
        statistics.View.SubView(0, sums.Length).CopyToCPU(sums);
        if (sums[3] >= 0)
        {
            throw new TrainingDivergedException($"loss became NaN or infinite at step {(long)sums[3] + 1}; lower --lr or check the data (checkpoint-last holds the last good epoch)");
        }

        var count = Math.Max(1, sums[2]);
        return (sums[0] / count, sums[1] / count, sums);
    }

    private sealed record EpochStatistics(double Loss, double Accuracy, double ImagesPerSecond, double Seconds);

    /// <summary>Collects the epochs of <see cref="Fit"/> and forwards updates to the caller's <see cref="IProgress{T}"/>.</summary>
    private sealed class HistoryProgress(IProgress<TrainingProgress>? progress) : ITrainingProgress
    {
        private int epochs;

        public List<EpochMetrics> Epochs { get; } = [];

        public void Update(int epoch, int epochs, int batch, int batches, double loss, double accuracy, double imagesPerSecond)
        {
            this.epochs = epochs;
            progress?.Report(new TrainingProgress(epoch, epochs, batch, batches, loss, accuracy, imagesPerSecond, null));
        }

        public void EpochCompleted(EpochMetrics metrics, bool improved)
        {
            Epochs.Add(metrics);
            progress?.Report(new TrainingProgress(metrics.Epoch, epochs, 0, 0, metrics.TrainLoss, metrics.TrainAcc, metrics.ImagesPerSecond, metrics));
        }

        public void Message(string text)
        {
        }
    }
}
