using System.Globalization;
using System.Runtime.InteropServices;
using Cct.CommandLine;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Checkpoints;
using Cct.Training.Data;
using Cct.Training.Reports;
using Cct.Training.Training;

namespace Cct.Cli;

/// <summary>`cct train`: arguments → the recipe (TrainOptions) and run settings → a RunFolder → Trainer.Fit → the report.</summary>
internal static class TrainCommand
{
    private static readonly HashSet<string> ValueOptions = new(ModelOptions.Overrides)
    {
        "model", "epochs", "batch", "lr", "weight-decay", "warmup-epochs", "label-smoothing", "augment", "val-split",
        "patience", "train-limit", "test-limit", "seed", "data", "dataset", "out", "resume", "stop-after", "accelerator", "precision", "schedule",
        "ema", "tta", "target-accuracy", "crop-padding", "recipe",
    };

    private static readonly HashSet<string> FlagOptions = new(StringComparer.Ordinal) { "lr-scale-batch", "cuda-graphs" };

    /// <summary>The --tta choices, shared with `cct eval`.</summary>
    internal static readonly Dictionary<string, TestTimeAugmentation> TtaChoices = new(StringComparer.Ordinal)
    {
        ["none"] = TestTimeAugmentation.None,
        ["flip"] = TestTimeAugmentation.Flip,
        ["flip-translate"] = TestTimeAugmentation.FlipTranslate,
    };

    public static int Run(string[] args)
    {
        var parsed = ParsedArguments.Parse(args, ValueOptions, FlagOptions);
        if (parsed.WantsHelp)
        {
            Console.WriteLine(Help);
            return 0;
        }

        if (parsed.Positionals.Count > 0)
        {
            throw new UsageException($"unexpected argument '{parsed.Positionals[0]}'");
        }

        var (options, run, resume) = Prepare(parsed);
        var data = ConsoleData.Load(run.Dataset, parsed.String("data"));
        if (run.Model.Classes != run.Dataset.ClassCount || run.Model.ImageSize != DatasetSpec.ImageRows)
        {
            throw new UsageException($"the model expects {run.Model.ImageSize}x{run.Model.ImageSize} images in {run.Model.Classes} classes; {run.Dataset.Name} has 28x28 in {run.Dataset.ClassCount}");
        }

        // Inputs are all checked (data, checkpoint, device, model) before anything is written into the run folder.
        using var device = ModelOptions.Device(run.Accelerator, run.Precision, run.CudaGraphs);
        using var model = resume is null ? CctModel.Create(device, run.Model, options.Seed, options.BatchSize) : new CctModel(device, run.Model, options.BatchSize);
        using var trainer = new Trainer(model, options);
        using var folder = RunFolder.StartOrResume(run.Output, model, options, data, resume);
        var used = data.For(options);
        Console.WriteLine($"cct: {run.ModelName} ({model.ParameterCount:N0} params, {run.Model.Tokens} tokens) on {device.Kind.ToString().ToLowerInvariant()} ({device.Name}{(device.Precision == GemmPrecision.Fp32 ? string.Empty : $", Linear products in {device.Precision.ToString().ToLowerInvariant()}")}{(device.ReplaysGraphs ? ", CUDA graphs" : string.Empty)}); {run.Dataset.Name} from {data.Folder}: {used.Train.Count} train, {used.Validation?.Count ?? 0} validation, {used.Test.Count} test; out {run.Output}");

        using var cancellation = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // First Ctrl+C: finish the step, save checkpoint-last, exit cleanly. A second one kills.
            e.Cancel = !cancellation.IsCancellationRequested;
            cancellation.Cancel();
        };
        Console.CancelKeyPress += onCancel;

        // SIGTERM (kill, timeout, docker stop, systemd) stops the run the same way, where .NET's default would exit at
        // once and lose the epoch so far; a second one terminates. A job started in the background by a shell without job
        // control ignores SIGINT from birth, so a harness's only clean way to stop it is SIGTERM.
        var terminated = false;
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = !cancellation.IsCancellationRequested;
            terminated = true;
            cancellation.Cancel();
        });
        try
        {
            var result = trainer.Fit(data, folder.State, folder, new ConsoleProgress(), cancellation.Token);
            if (result.Outcome == TrainingOutcome.EarlyStopped)
            {
                Console.WriteLine($"early stopping: validation loss has not improved for {options.Patience} epochs (best at epoch {result.State.BestEpoch})");
            }

            if (options.TargetAccuracy > 0 && result.Epochs.Count > 0)
            {
                var last = result.Epochs[^1];
                Console.WriteLine(result.Outcome == TrainingOutcome.ReachedTarget
                    ? string.Create(CultureInfo.InvariantCulture, $"target {options.TargetAccuracy * 100:F2}% reached at epoch {last.Epoch}: test accuracy {last.TestAcc * 100:F2}% after {result.State.TrainingSeconds:F2} s of training ({EpochMetrics.TimingMethod})")
                    : string.Create(CultureInfo.InvariantCulture, $"target {options.TargetAccuracy * 100:F2}% not reached: test accuracy {last.TestAcc * 100:F2}% at epoch {last.Epoch} after {result.State.TrainingSeconds:F2} s of training"));
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            Console.WriteLine($"interrupted{(terminated ? " by SIGTERM" : string.Empty)}: saved {RunFolder.LastCheckpointName} at epoch {folder.State.Epoch + 1}, batch {folder.State.BatchInEpoch}; continue with --resume");
            return terminated ? 128 + 15 : 130;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }

        var report = folder.WriteReport(model, used.Test, options.Tta);
        Console.WriteLine(report.Table);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy {report.Evaluation.Accuracy * 100:F2}% (checkpoint-best); report in {report.Folder}"));
        return 0;
    }

    private static (TrainOptions Options, RunSettings Run, Checkpoint? Resume) Prepare(ParsedArguments p)
    {
        TrainOptions options;
        CctConfig model;
        DatasetSpec dataset;
        string? modelName;
        Checkpoint? checkpoint = null;
        string? output = p.String("out");
        if (p.String("resume") is { } resume)
        {
            checkpoint = Checkpoint.Load(resume);
            options = checkpoint.Options;
            model = checkpoint.Config;
            modelName = PresetOf(model);
            dataset = p.Has("dataset") ? DatasetSpec.Parse(p.String("dataset")!) : checkpoint.Dataset;
            output ??= Path.GetDirectoryName(Path.GetFullPath(resume));
            CheckModelOptionsMatch(p, checkpoint, modelName);
        }
        else if (p.String("recipe") is { } recipeName)
        {
            // A recipe names its model; --model trains another one with the recipe's options.
            var recipe = TrainingRecipes.All.FirstOrDefault(r => r.Name == recipeName)
                ?? throw new UsageException($"unknown recipe '{recipeName}'; choose one of {string.Join(", ", TrainingRecipes.Names)}");
            modelName = ModelOptions.Preset(p, recipe.Model);
            options = recipe.Options;
            model = ModelOptions.Apply(p.Has("model") ? CctConfig.Preset(modelName) : recipe.ModelConfig, p);
            dataset = DatasetSpec.Parse(p.String("dataset", DatasetSpec.FashionMnist.Name));
        }
        else
        {
            modelName = ModelOptions.Preset(p, "cct-7/3x1");
            options = TrainOptions.ForPreset(modelName);
            model = ModelOptions.Apply(CctConfig.Preset(modelName), p);
            dataset = DatasetSpec.Parse(p.String("dataset", DatasetSpec.FashionMnist.Name));
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
            StopAfter = p.Int("stop-after", 0, 0),
            Schedule = p.Choice("schedule", options.Schedule, new Dictionary<string, LearningRateScheduleKind>(StringComparer.Ordinal)
            {
                ["cosine"] = LearningRateScheduleKind.Cosine,
                ["constant"] = LearningRateScheduleKind.Constant,
                ["one-cycle"] = LearningRateScheduleKind.OneCycle,
            }),
            Ema = p.Double("ema", options.Ema, 0, 0.999999),
            Tta = p.Choice("tta", options.Tta, TtaChoices),
            TargetAccuracy = p.Double("target-accuracy", options.TargetAccuracy, 0, 1),
            CropPadding = p.Int("crop-padding", options.CropPadding, 0),
        };
        if (p.Flag("lr-scale-batch") && checkpoint is null)
        {
            // Linear scaling from the recipe's batch (or --lr at it) to --batch; a resume keeps the saved rate.
            options = (options with { BatchSize = fixedOptions.BatchSize }).WithBatchScaledLearningRate(options.BatchSize);
        }

        if (augment is not null)
        {
            var parts = augment.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = parts.FirstOrDefault(a => a is not ("crop" or "flip" or "erase" or "none"));
            if (unknown is not null || (parts.Contains("none") && parts.Length > 1))
            {
                throw new UsageException($"--augment takes crop,flip,erase or none; got '{augment}'");
            }

            options = options with { Crop = parts.Contains("crop"), Flip = parts.Contains("flip"), Erase = parts.Contains("erase") };
        }

        if (checkpoint is not null)
        {
            // The original command with --resume appended must work, so equal values pass; only a contradiction is refused.
            var contradiction = new (string Name, object Saved, object Given)[]
            {
                ("batch", fixedOptions.BatchSize, options.BatchSize),
                ("seed", fixedOptions.Seed, options.Seed),
                ("dataset", checkpoint.Dataset.Name, dataset.Name),
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

        output ??= Path.Combine("runs", $"{modelName!.Replace('/', '-')}-{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}");
        if (checkpoint is null && RunFolder.HoldsRun(output))
        {
            throw new UsageException($"{output} already holds a run; pass --resume {Path.Combine(output, RunFolder.LastCheckpointName)} to continue it, or choose another --out");
        }

        var accelerator = ModelOptions.Accelerator(p);
        return (options, new RunSettings(modelName ?? "custom model", model, dataset, accelerator, ModelOptions.Precision(p), p.Flag("cuda-graphs"), output), checkpoint);
    }

    /// <summary>The preset whose model <paramref name="config"/> is (its input normalisation aside), or null.</summary>
    private static string? PresetOf(CctConfig config)
        => CctConfig.PresetNames.FirstOrDefault(name => CctConfig.Preset(name) with { InputMean = config.InputMean, InputStd = config.InputStd } == config);

    /// <summary>--model and the model overrides may repeat the checkpoint's model, not change it.</summary>
    private static void CheckModelOptionsMatch(ParsedArguments p, Checkpoint checkpoint, string? savedName)
    {
        var saved = checkpoint.Config;
        var trained = savedName ?? "a custom model";
        if (p.Has("model") && ModelOptions.Preset(p, "cct-7/3x1") is var preset && preset != savedName)
        {
            throw new UsageException($"--model {preset} contradicts the checkpoint, which trained {trained}; drop it or start a new run");
        }

        foreach (var name in ModelOptions.Overrides.Where(p.Has))
        {
            var single = ParsedArguments.Parse(["--" + name, p.String(name)!], ValueOptions, FlagOptions);
            if (ModelOptions.Apply(saved, single) != saved)
            {
                throw new UsageException($"--{name} {p.String(name)} contradicts the checkpoint's model ({trained}); drop it or start a new run");
            }
        }
    }

    /// <summary>What a `cct train` runs besides the recipe: the model, its name for the log, the dataset, the accelerator, its precision, whether it replays CUDA graphs, and the run folder.</summary>
    private sealed record RunSettings(string ModelName, CctConfig Model, DatasetSpec Dataset, AcceleratorKind Accelerator, GemmPrecision Precision, bool CudaGraphs, string Output);

    private const string Help = """
        usage: cct train [--model cct-7/3x1] [--recipe speed|best|seed|official|notebook|tiny] [--epochs N]
                         [--batch 128] [--lr 5.5e-4] [--lr-scale-batch] [--weight-decay 0.06]
                         [--warmup-epochs N] [--label-smoothing 0.1] [--augment crop,flip,erase|none] [--crop-padding 4]
                         [--val-split 0.1] [--patience N] [--train-limit N] [--test-limit N] [--seed 0] [--data DIR]
                         [--dataset fashion-mnist|mnist] [--out runs/NAME] [--resume CHECKPOINT] [--stop-after N]
                         [--schedule cosine|constant|one-cycle] [--ema 0.999] [--tta none|flip|flip-translate]
                         [--target-accuracy 0.93] [--accelerator auto|cuda|opencl|cpu] [--precision fp32|tf32x3|tf32|bf16]
                         [--cuda-graphs] [--layers N --heads N --dim N --mlp-ratio X --conv-layers N --mid-channels N --kernel K
                          --pos-emb learnable|sine|none --pool seq|mean]

          models: cct-2/3x2, cct-4/3x2, cct-6/3x1, cct-7/3x1 (official), seed (the notebook's model and recipe),
                  cct-tiny (1 block, dim 24, for the CPU accelerator)
          --epochs is the total; --resume continues a run to it with the saved optimizer, data order and RNG:
          append it to the original command (options that contradict the checkpoint are refused).
          --stop-after N stops after N epochs of this invocation (resumable). Ctrl+C saves checkpoint-last.
          --recipe trains a named recipe's model (or --model's) with its options; speed, best and seed are the GPU
                  recipes, not yet tuned on a GPU. --lr-scale-batch scales the rate linearly from the recipe's batch to --batch.
          --ema D evaluates and saves an EMA of the weights (decay D); --tta averages the softmax over flips (and
                  1-pixel translates); --target-accuracy stops at the first epoch whose test accuracy reaches it and
                  prints the training time to it (compilation, evaluation and data loading excluded; metrics.jsonl too).
          --precision computes the Linear products on CUDA tensor cores (compute capability 8.0+): tf32x3 keeps
                  fp32's accuracy, tf32 rounds operands to TF32 (about 5e-4 a product), bf16 to bfloat16 (4e-3),
                  and fused attention runs on them too (head size 64: in bf16 for bf16, in 3xTF32 for tf32x3 and
                  tf32); fp32 everywhere else.
          --cuda-graphs replays each training step and evaluation batch as one CUDA graph (CUDA only): the same
                  kernels with the same arguments as plain launches, one launch a step; if the driver refuses a
                  capture, one line says so and training goes on with plain launches.
          The run folder gets metrics.jsonl, checkpoint-last/-best.safetensors, config.json and report/.
        """;
}
