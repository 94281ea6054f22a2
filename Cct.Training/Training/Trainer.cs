using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Cct.Gpu.Data;
using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Gpu.Reductions;
using Cct.Gpu.Runtime;
using Cct.Training.Data;
using Cct.Training.Reports;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Training.Training;

/// <summary>
/// The training loop: data order from (seed, epoch), augmentation and dropout from (seed, step), AdamW
/// over the flat parameter buffer, a warmup + cosine, constant or one-cycle learning rate, and optionally an EMA of the
/// weights that every evaluation uses. A step launches kernels only; the host
/// reads the device-side running sums when it reports progress. The loop keeps nothing on disk: an
/// <see cref="IEpochSink"/> (a <see cref="RunFolder"/>) is handed every epoch and the position of a cancelled run.
/// </summary>
public sealed class Trainer : IDisposable
{
    private const uint AugmentStream = 7000;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(500);

    private readonly ComputeDevice device;
    private readonly CctModel model;
    private readonly TrainOptions options;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> images;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> labels;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> statistics;
    private readonly Evaluator evaluator;
    private bool disposed;

    /// <summary>A trainer for <paramref name="model"/> with the recipe in <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">an option is out of range, or the batch exceeds the model's <see cref="CctModel.MaxBatch"/></exception>
    /// <exception cref="ObjectDisposedException">the model or its device is disposed</exception>
    public Trainer(CctModel model, TrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.BatchSize > model.MaxBatch)
        {
            throw new ArgumentException($"batch {options.BatchSize} exceeds the model's MaxBatch {model.MaxBatch}; create the model with maxBatch: {options.BatchSize}", nameof(options));
        }

        this.model = model;
        device = model.Device;
        this.options = options;
        var c = model.Config;
        images = device.Allocate((long)options.BatchSize * c.InChannels * c.ImageSize * c.ImageSize); // (B, C, S, S)
        labels = device.Accelerator.Allocate1D<int>(options.BatchSize); // (B)
        statistics = device.Allocate(TrainingStatistics.Length);
        evaluator = new Evaluator(device, model);
    }

    /// <summary>The model being trained (not owned: disposing the trainer leaves it alive).</summary>
    /// <exception cref="ObjectDisposedException">the trainer is disposed (so for every public member below)</exception>
    public CctModel Model
    {
        get
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return model;
        }
    }

    /// <summary>The recipe this trainer follows.</summary>
    public TrainOptions Options
    {
        get
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return options;
        }
    }

    /// <summary>The test-only fault to inject (<see cref="FaultInjection"/>); none by default.</summary>
    internal FaultInjection Faults { get; init; } = FaultInjection.FromEnvironment();

    /// <summary>
    /// Trains a new run for <see cref="TrainOptions.Epochs"/> epochs on <paramref name="data"/> and returns every
    /// epoch's metrics; see <see cref="Fit(TrainingData, TrainingState, IEpochSink, IProgress{TrainingProgress}, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="TrainingDivergedException">the loss became NaN or infinite</exception>
    /// <exception cref="ArgumentException">the data's images or classes do not fit the model</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the model keeps the last step's weights</exception>
    [SuppressMessage("ApiDesign", "RS0027:API with optional parameter(s) should have the most parameters amongst its public overloads", Justification = "Shipped in 0.1.0; the full overload takes every argument explicitly.")]
    public IReadOnlyList<EpochMetrics> Fit(TrainingData data, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        => Fit(data, new TrainingState(), sink: null, progress, cancellationToken).Epochs;

    /// <summary>
    /// Trains from <paramref name="from"/> (a new <see cref="TrainingState"/>, or a checkpoint's) to
    /// <see cref="TrainOptions.Epochs"/> on <paramref name="data"/> after the options' validation split and limits,
    /// scoring the test set after each epoch and handing it to <paramref name="sink"/>. With a validation set,
    /// <see cref="TrainOptions.Patience"/> stops early; <see cref="TrainOptions.StopAfter"/> stops after that many
    /// epochs of this call. The model's dropout seed becomes <see cref="TrainOptions.Seed"/>, its step counter
    /// follows the state's, and its unset input normalisation becomes the data's statistics.
    /// </summary>
    /// <exception cref="TrainingDivergedException">the loss became NaN or infinite</exception>
    /// <exception cref="ArgumentException">the data's images or classes do not fit the model, or the state does not fit the data</exception>
    /// <exception cref="OperationCanceledException">
    /// <paramref name="cancellationToken"/> was cancelled: the current step finished, then <paramref name="sink"/>'s
    /// <see cref="IEpochSink.Interrupted"/> was given the exact position, so a resume from it repeats the run bit for bit
    /// </exception>
    public TrainingResult Fit(TrainingData data, TrainingState from, IEpochSink? sink, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(from);
        from.Validate();
        var prepared = data.For(options);
        var c = model.Config;
        if (prepared.Spec.ClassCount != c.Classes || prepared.Train.Rows != c.ImageSize || prepared.Train.Cols != c.ImageSize || c.InChannels != 1)
        {
            throw new ArgumentException($"the model takes {c.InChannels}x{c.ImageSize}x{c.ImageSize} images in {c.Classes} classes; {prepared.Spec.Name} has 1x{prepared.Train.Rows}x{prepared.Train.Cols} in {prepared.Spec.ClassCount}", nameof(data));
        }

        if (prepared.Train.Count == 0 || prepared.Test.Count == 0)
        {
            throw new ArgumentException($"no {(prepared.Train.Count == 0 ? "training" : "test")} images left after the validation split and limits", nameof(data));
        }

        var batches = options.BatchesPerEpoch(prepared.Train.Count);
        if (from.BatchInEpoch >= batches)
        {
            throw new ArgumentException($"the state stopped at batch {from.BatchInEpoch} of epoch {from.Epoch + 1}, but this data gives {batches} batches an epoch; resume with the data it was trained on", nameof(from));
        }

        using var train = new DeviceDataset(device, prepared.Train);
        using var validation = prepared.Validation is null ? null : new DeviceDataset(device, prepared.Validation);
        using var test = new DeviceDataset(device, prepared.Test);
        return Run(from, train, validation, test, prepared.Spec, sink, progress, cancellationToken);
    }

    /// <summary>
    /// Scores <paramref name="data"/> in eval mode as the epochs do: probabilities, predictions, mean cross-entropy and
    /// accuracy, with the recipe's <see cref="TrainOptions.Tta"/>, and with the weight average when
    /// <see cref="TrainOptions.Ema"/> is on and the model holds one (after a Fit, or a resumed checkpoint).
    /// </summary>
    public Evaluation Evaluate(ImageDataset data)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(data);
        using var onDevice = new DeviceDataset(device, data);
        return Score(onDevice);
    }

    /// <summary>
    /// The decay of the weight average's update after optimizer step <paramref name="step"/> (1 for the first):
    /// min(decay, (1 + step)/(10 + step)), TensorFlow's ExponentialMovingAverage with num_updates.
    /// </summary>
    internal static double AverageDecay(double decay, long step) => Math.Min(decay, (1.0 + step) / (10.0 + step));

    private Evaluation Score(DeviceDataset data)
        => options.Ema > 0 && model.HasWeightAverage ? model.WithAveragedWeights(() => evaluator.Run(data, options.Tta)) : evaluator.Run(data, options.Tta);


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

    private TrainingResult Run(TrainingState state, DeviceDataset train, DeviceDataset? validation, DeviceDataset test, DatasetSpec spec, IEpochSink? sink, IProgress<TrainingProgress>? progress, CancellationToken cancellation)
    {
        model.ResolveInputNormalization(spec.Mean, spec.Std);
        model.Seed = (uint)options.Seed;
        var batchesPerEpoch = options.BatchesPerEpoch(train.Count);
        var schedule = LearningRateSchedule.For(options, batchesPerEpoch);
        if (options.Ema > 0 && (state.Step == 0 || !model.HasWeightAverage))
        {
            // A new run averages from its initial weights; a resume restored the checkpoint's average (one saved
            // without it, e.g. EMA turned on at a resume, starts from the weights it resumes with).
            model.StartWeightAverage();
        }

        var compiling = true;
        using var order = device.Accelerator.Allocate1D<int>(Math.Max(1, train.Count)); // (N)
        var history = new List<EpochMetrics>();
        while (state.Epoch < options.Epochs)
        {
            var epoch = state.Epoch + 1;
            var (next, interrupted, epochStats) = RunEpoch(epoch, state, train, order, schedule, ref compiling, progress, cancellation);
            state = next;
            if (interrupted)
            {
                sink?.Interrupted(this, state);
                cancellation.ThrowIfCancellationRequested();
            }

            var val = validation is null ? null : Score(validation);
            var testResult = Score(test);
            var reached = options.TargetAccuracy > 0 && testResult.Accuracy >= options.TargetAccuracy;
            var metrics = new EpochMetrics(
                epoch,
                epochStats.Loss,
                epochStats.Accuracy,
                val?.Loss,
                val?.Accuracy,
                testResult.Accuracy,
                schedule.At(Math.Max(0, state.Step - 1)),
                epochStats.ImagesPerSecond,
                epochStats.Seconds)
            {
                TrainingSeconds = state.TrainingSeconds,
                TargetAccuracy = reached ? options.TargetAccuracy : null,
                Timing = reached ? EpochMetrics.TimingMethod : null,
            };

            // Best by validation loss, or by training loss without a validation split.
            var score = val?.Loss ?? epochStats.Loss;
            var improved = score < state.BestMetric;
            state = improved
                ? state with { BestMetric = score, BestEpoch = epoch, EpochsWithoutImprovement = 0 }
                : state with { EpochsWithoutImprovement = state.EpochsWithoutImprovement + 1 };
            sink?.EpochCompleted(this, state, metrics, improved);
            history.Add(metrics);
            progress?.Report(new TrainingProgress(epoch, options.Epochs, batchesPerEpoch, batchesPerEpoch, metrics.TrainLoss, metrics.TrainAcc, metrics.ImagesPerSecond, metrics) { Improved = improved });
            if (reached)
            {
                return new TrainingResult(history, state, TrainingOutcome.ReachedTarget);
            }

            if (validation is not null && options.Patience > 0 && state.EpochsWithoutImprovement >= options.Patience)
            {
                return new TrainingResult(history, state, TrainingOutcome.EarlyStopped);
            }

            if (options.StopAfter > 0 && history.Count >= options.StopAfter && state.Epoch < options.Epochs)
            {
                return new TrainingResult(history, state, TrainingOutcome.StoppedAfterRequestedEpochs);
            }
        }

        return new TrainingResult(history, state, TrainingOutcome.Completed);
    }

    /// <summary>Frees the trainer's device buffers; the model stays.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        evaluator.Dispose();
        images.Dispose();
        labels.Dispose();
        statistics.Dispose();
    }

    private (TrainingState State, bool Interrupted, EpochStatistics Stats) RunEpoch(int epoch, TrainingState state, DeviceDataset train, MemoryBuffer1D<int, Stride1D.Dense> order, LearningRateSchedule schedule, ref bool compiling, IProgress<TrainingProgress>? progress, CancellationToken cancellation)
    {
        var batches = options.BatchesPerEpoch(train.Count);
        var c = model.Config;
        var (mean, std) = model.InputNormalization;
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
        var augmentation = new BatchAugmentation(options.Crop, options.Flip, options.CropPadding, options.Erase);
        var compileSeconds = 0.0;
        var steps = 0;
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
            assembler.Assemble(images.View, train.Pixels.View, indices, size, c.ImageSize, c.ImageSize, mean, std, augmentation, BatchView.Identity, new RngKey((uint)options.Seed, AugmentStream, (uint)step));
            assembler.GatherLabels(labels.View, train.Labels.View, indices, size);
            // The trainer's counter is the one step count: the model's (dropout masks, AdamW's t) follows it.
            model.Step = (uint)step;
            var settings = new AdamWSettings((float)schedule.At(step), (float)options.Beta1, (float)options.Beta2, (float)options.AdamEpsilon, (float)options.WeightDecay);
            model.TrainStep(images.View, labels.View, size, (float)options.LabelSmoothing, settings);
            if (options.Ema > 0)
            {
                model.UpdateWeightAverage((float)(1 - AverageDecay(options.Ema, step + 1)));
            }
            accumulate.Accumulate(statistics.View, model.Losses, model.Probabilities, labels.View, size, c.Classes, (int)step);
            Faults.AfterStep(step);
            step++;
            steps++;
            imagesSeen += size;
            if (compiling)
            {
                // The first step of a Fit compiles every training kernel: timed to a synchronise, it is left out of the training time.
                device.Synchronize();
                compileSeconds = clock.Elapsed.TotalSeconds;
                compiling = false;
            }

            if (clock.Elapsed - lastReport >= ProgressInterval || batch == batches - 1)
            {
                lastReport = clock.Elapsed;
                var sums = ReadStatistics();
                progress?.Report(new TrainingProgress(epoch, options.Epochs, batch + 1, batches, sums.Loss, sums.Accuracy, imagesSeen / Math.Max(1e-9, clock.Elapsed.TotalSeconds), null));
            }
        }

        var final = ReadStatistics();
        var seconds = clock.Elapsed.TotalSeconds;

        // EpochMetrics.TimingMethod: the compiling step counts as the mean of the epoch's other steps (none: nothing to go by).
        var training = compileSeconds > 0 ? (seconds - compileSeconds) * steps / Math.Max(1, steps - 1) : seconds;
        var trainingSeconds = state.TrainingSeconds + Math.Max(0, training);
        var next = interrupted
            ? state with { Step = step, BatchInEpoch = batch, EpochSums = final.Sums, TrainingSeconds = trainingSeconds }
            : state with { Step = step, BatchInEpoch = 0, Epoch = epoch, EpochSums = null, TrainingSeconds = trainingSeconds };
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
