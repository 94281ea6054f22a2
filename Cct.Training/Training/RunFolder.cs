using System.Text;
using Cct.Gpu.Model;
using Cct.Training.Checkpoints;
using Cct.Training.Data;
using Cct.Training.Reports;

namespace Cct.Training.Training;

/// <summary>
/// A run kept on disk, as <c>cct train</c> keeps it: the folder's lock (one writer at a time), config.json (the
/// recipe), metrics.jsonl (one line per epoch), checkpoint-last (after every epoch, and at the exact step where a
/// cancelled run stopped) and checkpoint-best (on improvement), each written atomically, and the final report/.
/// Pass it to <see cref="Trainer.Fit(TrainingData, TrainingState, IEpochSink, IProgress{TrainingProgress}, CancellationToken)"/>
/// as the sink, with <see cref="State"/> as <c>from</c>; dispose it to release the folder.
/// </summary>
public sealed class RunFolder : IEpochSink, IDisposable
{
    /// <summary>The checkpoint written after every epoch and when a run is cancelled; resume from it.</summary>
    public const string LastCheckpointName = "checkpoint-last.safetensors";

    /// <summary>The checkpoint of the best epoch (lowest validation loss, or training loss without a validation split).</summary>
    public const string BestCheckpointName = "checkpoint-best.safetensors";

    /// <summary>The recipe of the run, as JSON.</summary>
    public const string OptionsFileName = "config.json";

    /// <summary>The folder <see cref="WriteReport(CctModel, ImageDataset, TestTimeAugmentation)"/> writes into.</summary>
    public const string ReportFolderName = "report";

    private readonly RunLock runLock;
    private readonly DatasetSpec dataset;
    private readonly FaultInjection faults = FaultInjection.FromEnvironment();
    private bool disposed;

    private RunFolder(string path, RunLock runLock, DatasetSpec dataset, TrainingState state)
    {
        Path = path;
        this.runLock = runLock;
        this.dataset = dataset;
        State = state;
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>Where the run stands: a new state, the resumed checkpoint's, then the state after each epoch or interruption.</summary>
    public TrainingState State { get; private set; }

    /// <summary>The path of <see cref="LastCheckpointName"/> in this folder.</summary>
    public string LastCheckpoint => System.IO.Path.Combine(Path, LastCheckpointName);

    /// <summary>The path of <see cref="BestCheckpointName"/> in this folder.</summary>
    public string BestCheckpoint => System.IO.Path.Combine(Path, BestCheckpointName);

    /// <summary>The path of the report folder.</summary>
    public string ReportFolder => System.IO.Path.Combine(Path, ReportFolderName);

    /// <summary>
    /// Takes <paramref name="path"/> (created if needed) for a run of <paramref name="options"/> on <paramref name="data"/>:
    /// a new run when <paramref name="resume"/> is null, which a folder that already holds one refuses; else the run
    /// <paramref name="resume"/> saved, whose weights, buffers and AdamW moments are copied into <paramref name="model"/>.
    /// Everything is checked before the folder is touched. A resume drops the metrics.jsonl lines of epochs after the
    /// checkpoint (a run killed between logging an epoch and saving it runs that epoch again) and temporary files that
    /// a killed save left.
    /// </summary>
    /// <exception cref="DatasetException">no training or test images are left after the options' split and limits</exception>
    /// <exception cref="CheckpointException">the checkpoint does not fit the model, the options or the data (one line)</exception>
    /// <exception cref="RunFolderBusyException">another live run holds the folder, or a new run is asked of a folder that already holds one</exception>
    public static RunFolder StartOrResume(string path, CctModel model, TrainOptions options, TrainingData data, Checkpoint? resume = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(data);
        options.Validate();
        var prepared = data.For(options);
        if (prepared.Train.Count == 0 || prepared.Test.Count == 0)
        {
            throw new DatasetException($"no {(prepared.Train.Count == 0 ? "training" : "test")} images left after the validation split and limits");
        }

        var state = new TrainingState();
        if (resume is not null)
        {
            state = resume.State;
            CheckResume(resume, options, prepared);
            resume.Restore(model, optimizer: true);
        }

        RefuseAnotherRun(path, resume);
        var runLock = RunLock.Acquire(path);
        try
        {
            // Checked again under the lock: another run may have written its first checkpoint meanwhile.
            RefuseAnotherRun(path, resume);

            // Under the lock no other writer exists, so temporary files here are leftovers of a killed save.
            foreach (var stale in Directory.GetFiles(path, ".*.tmp"))
            {
                File.Delete(stale);
            }

            var metrics = System.IO.Path.Combine(path, MetricsLog.FileName);
            if (resume is not null && File.Exists(metrics) && MetricsLog.Read(metrics).Epochs is var logged && logged.Any(e => e.Epoch > state.Epoch))
            {
                MetricsLog.Write(metrics, logged.Where(e => e.Epoch <= state.Epoch));
            }

            if (resume is not null && File.Exists(metrics) && MetricsLog.Read(metrics).Epochs.LastOrDefault(e => e.Epoch <= state.Epoch)?.TrainingSeconds is { } seconds)
            {
                // Checkpoints leave the wall-clock time out (they are a function of the seed); the log has it.
                state = state with { TrainingSeconds = seconds };
            }

            AtomicFile.WriteAllBytes(System.IO.Path.Combine(path, OptionsFileName), Encoding.UTF8.GetBytes(options.ToJson()));
            return new RunFolder(path, runLock, data.Spec, state);
        }
        catch
        {
            runLock.Dispose();
            throw;
        }
    }

    /// <summary>Whether <paramref name="path"/> holds a run already (its checkpoint-last), which a new run must not overwrite.</summary>
    public static bool HoldsRun(string path) => File.Exists(System.IO.Path.Combine(path, LastCheckpointName));

    /// <summary>The epochs a run folder's metrics.jsonl holds, or null when it has none.</summary>
    /// <exception cref="IOException">the log cannot be read</exception>
    public static IReadOnlyList<EpochMetrics>? ReadEpochs(string path)
    {
        var metrics = System.IO.Path.Combine(path, MetricsLog.FileName);
        return File.Exists(metrics) ? MetricsLog.Read(metrics).Epochs : null;
    }

    /// <summary>Appends the epoch to metrics.jsonl, then saves checkpoint-best when it improved and checkpoint-last.</summary>
    public void EpochCompleted(Trainer trainer, TrainingState state, EpochMetrics metrics, bool improved)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(metrics);
        MetricsLog.Append(System.IO.Path.Combine(Path, MetricsLog.FileName), metrics);
        if (improved)
        {
            Save(BestCheckpoint, trainer, state);
        }

        Save(LastCheckpoint, trainer, state);
        State = state;
    }

    /// <summary>Saves checkpoint-last at the exact step the run stopped, to resume from.</summary>
    public void Interrupted(Trainer trainer, TrainingState state)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(state);
        Save(LastCheckpoint, trainer, state);
        State = state;
    }

    /// <summary>
    /// Loads checkpoint-best into <paramref name="model"/> (when the run has one) and writes its
    /// <see cref="EvaluationReport"/> on <paramref name="test"/> into report/, with the training curves of metrics.jsonl.
    /// </summary>
    public EvaluationReport WriteReport(CctModel model, ImageDataset test) => WriteReport(model, test, TestTimeAugmentation.None);

    /// <summary>
    /// As <see cref="WriteReport(CctModel, ImageDataset)"/>, scoring with <paramref name="tta"/>, and with checkpoint-best's
    /// weight average in place of its weights when it holds one (a run with <see cref="TrainOptions.Ema"/>), as the run's
    /// evaluations scored.
    /// </summary>
    public EvaluationReport WriteReport(CctModel model, ImageDataset test, TestTimeAugmentation tta)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(model);
        if (File.Exists(BestCheckpoint))
        {
            var best = Checkpoint.Load(BestCheckpoint);
            best.Restore(model, optimizer: false);
            if (best.HasWeightAverage)
            {
                best.RestoreWeightAverage(model);
            }
        }

        return EvaluationReport.Write(ReportFolder, model, test, ReadEpochs(Path), tta);
    }

    /// <summary>Releases the folder's lock.</summary>
    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            runLock.Dispose();
        }
    }

    private static void CheckResume(Checkpoint resume, TrainOptions options, TrainingData prepared)
    {
        var saved = resume.Options;
        var contradiction = new (string Name, object Saved, object Given)[]
        {
            ("batch size", saved.BatchSize, options.BatchSize),
            ("seed", saved.Seed, options.Seed),
            ("validation split", saved.ValidationSplit, options.ValidationSplit),
            ("train limit", saved.TrainLimit, options.TrainLimit),
            ("dataset", resume.Dataset.Name, prepared.Spec.Name),
        }.FirstOrDefault(o => !o.Saved.Equals(o.Given));
        if (contradiction.Name is not null)
        {
            throw new CheckpointException($"{contradiction.Name} {contradiction.Given} contradicts the checkpoint, which was trained with {contradiction.Saved}");
        }

        var batches = options.BatchesPerEpoch(prepared.Train.Count);
        if (resume.State.BatchInEpoch >= batches)
        {
            throw new CheckpointException($"the checkpoint stopped at batch {resume.State.BatchInEpoch} of epoch {resume.State.Epoch + 1}, but this data gives {batches} batches an epoch; resume with the data it was trained on");
        }
    }

    private static void RefuseAnotherRun(string path, Checkpoint? resume)
    {
        if (resume is null && HoldsRun(path))
        {
            throw new RunFolderBusyException($"{path} already holds a run; resume it from {System.IO.Path.Combine(path, LastCheckpointName)}, or choose another folder");
        }
    }

    private void Save(string path, Trainer trainer, TrainingState state)
        => Checkpoint.Save(path, trainer.Model, trainer.Options, state, dataset, faults.BeforeCheckpointRename);
}
