using System.Diagnostics;
using Cct.Gpu.Data;
using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Checkpoints;
using Cct.Training.Reports;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Training.Training;

/// <summary>What a progress display is told while training runs.</summary>
public interface ITrainingProgress
{
    /// <summary>A periodic update within an epoch (about twice a second).</summary>
    void Update(int epoch, int epochs, int batch, int batches, double loss, double accuracy, double imagesPerSecond);

    void EpochCompleted(EpochMetrics metrics, bool improved);

    void Message(string text);
}

/// <summary>Training stopped because the loss became NaN or infinite.</summary>
public sealed class TrainingDivergedException : Exception
{
    public TrainingDivergedException(string message)
        : base(message)
    {
    }

    public TrainingDivergedException()
    {
    }

    public TrainingDivergedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>How a training run ended.</summary>
public enum TrainingOutcome
{
    Completed,
    EarlyStopped,
    StoppedAfterRequestedEpochs,
    Interrupted,
}

/// <summary>
/// The training loop: data order from (seed, epoch), augmentation and dropout from (seed, step), AdamW
/// over the flat parameter buffer, warmup + cosine learning rate. A step launches kernels only; the host
/// reads the device-side running sums when it reports progress. Every epoch appends to metrics.jsonl and
/// writes checkpoint-last (and checkpoint-best on improvement) atomically.
/// </summary>
public sealed class Trainer : IDisposable
{
    public const string LastCheckpoint = "checkpoint-last.safetensors";
    public const string BestCheckpoint = "checkpoint-best.safetensors";
    private const uint AugmentStream = 7000;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(500);

    private readonly ComputeDevice device;
    private readonly TrainOptions options;
    private readonly DeviceDataset train;
    private readonly DeviceDataset? validation;
    private readonly DeviceDataset test;
    private readonly float mean;
    private readonly float std;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> images;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> labels;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> order;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> statistics;
    private readonly Evaluator evaluator;

    public Trainer(ComputeDevice device, TrainOptions options, DeviceDataset train, DeviceDataset? validation, DeviceDataset test, float mean, float std)
    {
        this.device = device;
        this.options = options;
        this.train = train;
        this.validation = validation;
        this.test = test;
        this.mean = mean;
        this.std = std;
        Model = new CctModel(device, options.Model, options.BatchSize) { Seed = (uint)options.Seed };
        var c = options.Model;
        images = device.Allocate((long)options.BatchSize * c.InChannels * c.ImageSize * c.ImageSize);
        labels = device.Accelerator.Allocate1D<int>(options.BatchSize);
        order = device.Accelerator.Allocate1D<int>(Math.Max(1, train.Count));
        statistics = device.Allocate(TrainingStatistics.Length);
        evaluator = new Evaluator(device, Model);
    }

    public CctModel Model { get; }

    /// <summary>The test-only fault to inject (<see cref="FaultInjection"/>); none by default.</summary>
    internal FaultInjection Faults { get; init; } = FaultInjection.FromEnvironment();

    public int BatchesPerEpoch => (train.Count + options.BatchSize - 1) / options.BatchSize;

    /// <summary>
    /// The training order of one epoch: a Fisher–Yates permutation drawn from the <see cref="SeededRandom"/>
    /// stream (seed, epoch order, epoch), so it depends only on (seed, epoch) and is the same in every process.
    /// </summary>
    public static int[] EpochOrder(int count, int seed, int epoch)
    {
        var random = SeededRandom.For(seed, SeededRandom.EpochOrderStream, epoch);
        var indices = Enumerable.Range(0, count).ToArray();
        random.Shuffle(indices);
        return indices;
    }

    public TrainingOutcome Run(string outputDirectory, TrainingState state, ITrainingProgress progress, CancellationToken cancellation)
    {
        Directory.CreateDirectory(outputDirectory);
        var schedule = new LearningRateSchedule(
            options.LearningRate,
            (long)options.WarmupEpochs * BatchesPerEpoch,
            options.Schedule == LearningRateScheduleKind.Cosine ? (long)options.Epochs * BatchesPerEpoch : long.MaxValue);
        var epochsThisRun = 0;
        while (state.Epoch < options.Epochs)
        {
            var epoch = state.Epoch + 1;
            var (next, interrupted, epochStats) = RunEpoch(epoch, state, schedule, progress, cancellation);
            state = next;
            if (interrupted)
            {
                Checkpoint.Save(Path.Combine(outputDirectory, LastCheckpoint), Model, options, state, Faults.BeforeCheckpointRename);
                progress.Message($"interrupted: saved {LastCheckpoint} at epoch {epoch}, batch {state.BatchInEpoch}; continue with --resume");
                return TrainingOutcome.Interrupted;
            }

            var val = validation is null ? null : evaluator.Run(validation, mean, std);
            var testResult = evaluator.Run(test, mean, std);
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
            MetricsLog.Append(Path.Combine(outputDirectory, MetricsLog.FileName), metrics);
            if (improved)
            {
                Checkpoint.Save(Path.Combine(outputDirectory, BestCheckpoint), Model, options, state, Faults.BeforeCheckpointRename);
            }

            Checkpoint.Save(Path.Combine(outputDirectory, LastCheckpoint), Model, options, state, Faults.BeforeCheckpointRename);
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

    public Evaluation Evaluate(DeviceDataset data) => evaluator.Run(data, mean, std);

    public void Dispose()
    {
        evaluator.Dispose();
        images.Dispose();
        labels.Dispose();
        order.Dispose();
        statistics.Dispose();
        Model.Dispose();
    }

    private (TrainingState State, bool Interrupted, EpochStatistics Stats) RunEpoch(int epoch, TrainingState state, LearningRateSchedule schedule, ITrainingProgress progress, CancellationToken cancellation)
    {
        var batches = BatchesPerEpoch;
        var c = options.Model;
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
}
