using System.Globalization;
using System.Text;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Checkpoints;
using Cct.Training.Data;
using Cct.Training.Reports;
using Cct.Training.Training;

namespace Cct.Cli;

/// <summary>`cct train`: options → data → trainer → checkpoints, metrics and the final report.</summary>
internal static class TrainCommand
{
    private static readonly HashSet<string> ValueOptions = new(ModelOptions.Overrides)
    {
        "model", "epochs", "batch", "lr", "weight-decay", "warmup-epochs", "label-smoothing", "augment", "val-split",
        "patience", "train-limit", "test-limit", "seed", "data", "dataset", "out", "resume", "stop-after", "accelerator", "schedule",
    };

    public static int Run(string[] args)
    {
        var parsed = ParsedArguments.Parse(args, ValueOptions, new HashSet<string>());
        if (parsed.WantsHelp)
        {
            Console.WriteLine(Help);
            return 0;
        }

        if (parsed.Positionals.Count > 0)
        {
            throw new UsageException($"unexpected argument '{parsed.Positionals[0]}'");
        }

        var (options, state, output, resume) = Prepare(parsed);
        var spec = DatasetSpec.Parse(options.Dataset);
        var files = ResolveData(spec, parsed.String("data"));
        var (trainSet, validationSet, testSet) = LoadData(files, spec, options);
        if (options.Model.Classes != spec.ClassCount || options.Model.ImageSize != DatasetSpec.ImageRows)
        {
            throw new UsageException($"the model expects {options.Model.ImageSize}x{options.Model.ImageSize} images in {options.Model.Classes} classes; {spec.Name} has 28x28 in {spec.ClassCount}");
        }

        var batches = (trainSet.Count + options.BatchSize - 1) / options.BatchSize;
        if (state.BatchInEpoch >= batches)
        {
            throw new UsageException($"the checkpoint stopped at batch {state.BatchInEpoch} of epoch {state.Epoch + 1}, but this data gives {batches} batches an epoch; resume with the data it was trained on");
        }

        // Inputs are all checked (data, checkpoint, device, model) before anything is written into the run folder.
        using var device = ComputeDevice.Create(options.Accelerator);
        using var train = new DeviceDataset(device, trainSet);
        using var validation = validationSet is null ? null : new DeviceDataset(device, validationSet);
        using var test = new DeviceDataset(device, testSet);
        using var model = new CctModel(device, options.Model, options.BatchSize) { Seed = (uint)options.Seed };
        using var trainer = new Trainer(model, options);
        if (resume is not null)
        {
            resume.Restore(model, optimizer: true);
        }
        else
        {
            model.Initialize(options.Seed);
        }

        using var runLock = RunLock.Acquire(output);
        if (resume is null && File.Exists(Path.Combine(output, Trainer.LastCheckpoint)))
        {
            throw new UsageException($"{output} already holds a run; pass --resume {Path.Combine(output, Trainer.LastCheckpoint)} to continue it, or choose another --out");
        }

        // Under the lock no other writer exists, so temporary files here are leftovers of a killed save.
        foreach (var stale in Directory.GetFiles(output, ".*.tmp"))
        {
            File.Delete(stale);
        }

        var metrics = Path.Combine(output, MetricsLog.FileName);
        if (resume is not null && File.Exists(metrics) && MetricsLog.Read(metrics).Epochs is var logged && logged.Any(e => e.Epoch > state.Epoch))
        {
            // A run killed after logging an epoch but before its checkpoint: that epoch runs again, so its line goes.
            MetricsLog.Write(metrics, logged.Where(e => e.Epoch <= state.Epoch));
        }

        AtomicFile.WriteAllBytes(Path.Combine(output, "config.json"), Encoding.UTF8.GetBytes(options.ToJson()));
        Console.WriteLine($"cct: {options.Preset} ({ModelSummary.Rows(options.Model).Sum(r => r.Parameters):N0} params, {options.Model.Tokens} tokens) on {device.Kind.ToString().ToLowerInvariant()} ({device.Name}); {spec.Name} from {files.Directory}: {trainSet.Count} train, {validationSet?.Count ?? 0} validation, {testSet.Count} test; out {output}");

        using var cancellation = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // First Ctrl+C: finish the step, save checkpoint-last, exit cleanly. A second one kills.
            e.Cancel = !cancellation.IsCancellationRequested;
            cancellation.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            var outcome = trainer.Run(output, state, train, validation, test, spec, new ConsoleProgress(), cancellation.Token);
            if (outcome == TrainingOutcome.Interrupted)
            {
                return 130;
            }
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }

        var best = Path.Combine(output, Trainer.BestCheckpoint);
        if (File.Exists(best))
        {
            Checkpoint.Load(best).Restore(model, optimizer: false);
        }

        var evaluation = trainer.Evaluate(test);
        var table = EvalCommand.WriteReport(Path.Combine(output, "report"), evaluation, testSet, output, model, spec);
        Console.WriteLine(table);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy {evaluation.Accuracy * 100:F2}% (checkpoint-best); report in {Path.Combine(output, "report")}"));
        return 0;
    }

    internal static DatasetFiles ResolveData(DatasetSpec spec, string? dataDirectory)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var lastShown = -1;
        return DatasetProvider.ResolveAsync(spec, dataDirectory, DataEnvironment.Current, http, p =>
        {
            var percent = p.TotalBytes is > 0 ? (int)(100 * p.BytesReceived / p.TotalBytes.Value) : -1;
            if (percent != lastShown && (percent % 10 == 0 || !Console.IsErrorRedirected))
            {
                lastShown = percent;
                Console.Error.Write($"\rdownloading {p.FileName} ({p.FileIndex + 1}/{p.FileCount}) {(percent >= 0 ? $"{percent}%" : $"{p.BytesReceived / 1024} KiB")}   ");
            }
        }).GetAwaiter().GetResult();
    }

    private static (TrainOptions Options, TrainingState State, string Output, Checkpoint? Resume) Prepare(ParsedArguments p)
    {
        TrainingState state = new();
        TrainOptions options;
        Checkpoint? checkpoint = null;
        string? output = p.String("out");
        if (p.String("resume") is { } resume)
        {
            checkpoint = Checkpoint.Load(resume);
            options = checkpoint.Options with { Model = checkpoint.Config };
            state = checkpoint.State;
            output ??= Path.GetDirectoryName(Path.GetFullPath(resume));
            CheckModelOptionsMatch(p, checkpoint);
        }
        else
        {
            var preset = ModelOptions.Preset(p, "cct-7/3x1");
            options = TrainOptions.ForPreset(preset);
            options = options with { Model = ModelOptions.Apply(options.Model, p) };
        }

        var fixedOptions = options;
        var augment = p.String("augment");
        options = options with
        {
            Epochs = p.Int("epochs", options.Epochs, 1),
            BatchSize = p.Int("batch", options.BatchSize, 1),
            LearningRate = p.Double("lr", options.LearningRate, 0, 10),
            WeightDecay = p.Double("weight-decay", options.WeightDecay, 0, 10),
            WarmupEpochs = p.Int("warmup-epochs", options.WarmupEpochs, 0),
            LabelSmoothing = p.Double("label-smoothing", options.LabelSmoothing, 0, 0.99),
            ValidationSplit = p.Double("val-split", options.ValidationSplit, 0, 0.9),
            Patience = p.Int("patience", options.Patience, 0),
            TrainLimit = p.Int("train-limit", options.TrainLimit, 0),
            TestLimit = p.Int("test-limit", options.TestLimit, 0),
            Seed = p.Int("seed", options.Seed, 0),
            Dataset = p.String("dataset", options.Dataset),
            StopAfter = p.Int("stop-after", 0, 0),
            Accelerator = p.Has("accelerator") ? ModelOptions.Accelerator(p) : options.Accelerator,
            Schedule = p.Choice("schedule", options.Schedule, new Dictionary<string, LearningRateScheduleKind>(StringComparer.Ordinal)
            {
                ["cosine"] = LearningRateScheduleKind.Cosine,
                ["constant"] = LearningRateScheduleKind.Constant,
            }),
        };
        if (augment is not null)
        {
            var parts = augment.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = parts.FirstOrDefault(a => a is not ("crop" or "flip" or "none"));
            if (unknown is not null || (parts.Contains("none") && parts.Length > 1))
            {
                throw new UsageException($"--augment takes crop,flip or none; got '{augment}'");
            }

            options = options with { Crop = parts.Contains("crop"), Flip = parts.Contains("flip") };
        }

        if (checkpoint is not null)
        {
            // The original command with --resume appended must work, so equal values pass; only a contradiction is refused.
            var contradiction = new (string Name, object Saved, object Given)[]
            {
                ("batch", fixedOptions.BatchSize, options.BatchSize),
                ("seed", fixedOptions.Seed, options.Seed),
                ("dataset", fixedOptions.Dataset.ToLowerInvariant(), options.Dataset.ToLowerInvariant()),
                ("val-split", fixedOptions.ValidationSplit, options.ValidationSplit),
                ("train-limit", fixedOptions.TrainLimit, options.TrainLimit),
            }.FirstOrDefault(o => !o.Saved.Equals(o.Given));
            if (contradiction.Name is not null)
            {
                throw new UsageException($"--{contradiction.Name} {p.String(contradiction.Name)} contradicts the checkpoint, which was trained with {contradiction.Saved}; drop it or start a new run");
            }
        }

        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"invalid training options: {e.Message}", e);
        }

        if (options.WarmupEpochs >= options.Epochs && options.WarmupEpochs > 0)
        {
            throw new UsageException($"--warmup-epochs {options.WarmupEpochs} must be less than --epochs {options.Epochs}");
        }

        // The model carries its input normalisation: the preset's (seed: 0.5, 0.5), else the dataset's statistics.
        // Resolved here, so the options saved in a checkpoint equal those a resume rebuilds from its config.
        var spec = DatasetSpec.Parse(options.Dataset);
        options = options with { Model = options.Model with { InputMean = options.Model.InputMean ?? spec.Mean, InputStd = options.Model.InputStd ?? spec.Std } };
        output ??= Path.Combine("runs", $"{options.Preset.Replace('/', '-')}-{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}");
        if (p.String("resume") is null && File.Exists(Path.Combine(output, Trainer.LastCheckpoint)))
        {
            throw new UsageException($"{output} already holds a run; pass --resume {Path.Combine(output, Trainer.LastCheckpoint)} to continue it, or choose another --out");
        }

        return (options, state, output, checkpoint);
    }

    /// <summary>--model and the model overrides may repeat the checkpoint's model, not change it.</summary>
    private static void CheckModelOptionsMatch(ParsedArguments p, Checkpoint checkpoint)
    {
        var saved = checkpoint.Options.Preset;
        if (p.Has("model") && ModelOptions.Preset(p, saved) is var preset && preset != saved)
        {
            throw new UsageException($"--model {preset} contradicts the checkpoint, which trained {saved}; drop it or start a new run");
        }

        foreach (var name in ModelOptions.Overrides.Where(p.Has))
        {
            var single = ParsedArguments.Parse(["--" + name, p.String(name)!], ValueOptions, new HashSet<string>());
            if (ModelOptions.Apply(checkpoint.Config, single).ToJson() != checkpoint.Config.ToJson())
            {
                throw new UsageException($"--{name} {p.String(name)} contradicts the checkpoint's model ({saved}); drop it or start a new run");
            }
        }
    }

    private static (ImageDataset Train, ImageDataset? Validation, ImageDataset Test) LoadData(DatasetFiles files, DatasetSpec spec, TrainOptions options)
    {
        var all = files.LoadTrain(spec);
        var test = files.LoadTest(spec);
        ImageDataset? validation = null;
        var train = all;
        if (options.ValidationSplit > 0)
        {
            (train, validation) = all.Split(options.ValidationSplit, options.Seed);
        }

        if (options.TrainLimit > 0)
        {
            train = train.Take(options.TrainLimit);
        }

        if (options.TestLimit > 0)
        {
            test = test.Take(options.TestLimit);
        }

        if (train.Count == 0)
        {
            throw new UsageException("no training images left after the validation split and --train-limit");
        }

        if (test.Count == 0)
        {
            throw new UsageException($"{files.TestImages} holds no test images");
        }

        return (train, validation, test);
    }

    private const string Help = """
        usage: cct train [--model cct-7/3x1] [--epochs N] [--batch 128] [--lr 5.5e-4] [--weight-decay 0.06]
                         [--warmup-epochs N] [--label-smoothing 0.1] [--augment crop,flip|none] [--val-split 0.1]
                         [--patience N] [--train-limit N] [--test-limit N] [--seed 0] [--data DIR]
                         [--dataset fashion-mnist|mnist] [--out runs/NAME] [--resume CHECKPOINT] [--stop-after N]
                         [--schedule cosine|constant] [--accelerator auto|cuda|opencl|cpu]
                         [--layers N --heads N --dim N --mlp-ratio X --conv-layers N --kernel K
                          --pos-emb learnable|sine|none --pool seq|mean]

          models: cct-2/3x2, cct-4/3x2, cct-6/3x1, cct-7/3x1 (official), seed (the notebook's model and recipe),
                  cct-tiny (1 block, dim 24, for the CPU accelerator)
          --epochs is the total; --resume continues a run to it with the saved optimizer, data order and RNG:
          append it to the original command (options that contradict the checkpoint are refused).
          --stop-after N stops after N epochs of this invocation (resumable). Ctrl+C saves checkpoint-last.
          The run folder gets metrics.jsonl, checkpoint-last/-best.safetensors, config.json and report/.
        """;
}
