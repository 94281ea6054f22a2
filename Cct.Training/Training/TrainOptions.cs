using System.Text.Json;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Data;

namespace Cct.Training.Training;

/// <summary>
/// The training recipe: optimizer, schedule, augmentation, data split and seed. The model and the data are the
/// <see cref="Trainer"/>'s and the <see cref="TrainingData"/>'s;
/// checkpoints save the recipe so a resume continues it.
/// </summary>
public sealed record TrainOptions
{
    /// <summary>Passes over the training images.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>
    /// Images per step; at most the model's <see cref="CctModel.MaxBatch"/>. The default is
    /// <see cref="CctModel.DefaultMaxBatch"/>, so a model created with the default capacity trains with the default options.
    /// </summary>
    public int BatchSize { get; init; } = CctModel.DefaultMaxBatch;

    /// <summary>Peak AdamW learning rate (after warmup).</summary>
    public double LearningRate { get; init; } = 5.5e-4;

    /// <summary>AdamW's decoupled weight decay (0 gives Adam).</summary>
    public double WeightDecay { get; init; } = 0.06;

    /// <summary>AdamW's first-moment decay.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW's second-moment decay.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>AdamW's denominator epsilon.</summary>
    public double AdamEpsilon { get; init; } = 1e-8;

    /// <summary>Epochs of linear warmup from 0 to <see cref="LearningRate"/>.</summary>
    public int WarmupEpochs { get; init; }

    /// <summary>The schedule after warmup.</summary>
    public LearningRateScheduleKind Schedule { get; init; } = LearningRateScheduleKind.Cosine;

    /// <summary>Cross-entropy label smoothing.</summary>
    public double LabelSmoothing { get; init; } = 0.1;

    /// <summary>Augment with random zero-padded crops, i.e. random translations by up to <see cref="CropPadding"/> pixels per axis.</summary>
    public bool Crop { get; init; } = true;

    /// <summary>The crop's padding: the largest translation, in pixels (torchvision's RandomCrop(28, padding)); 4 by default, airbench uses 2.</summary>
    public int CropPadding { get; init; } = 4;

    /// <summary>Augment with random horizontal flips.</summary>
    public bool Flip { get; init; } = true;

    /// <summary>
    /// Augment with random erasing (torchvision's RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0) with
    /// one attempt per image), after crop and flip; drawn from the counter hash, so seeded like them.
    /// </summary>
    public bool Erase { get; init; }

    /// <summary>
    /// Decay of an exponential moving average of the weights (parameters and buffers, BatchNorm running statistics
    /// included), updated on the device after every AdamW step; 0 turns it off. At step s (1 for the first) the decay used
    /// is min(<see cref="Ema"/>, (1 + s)/(10 + s)), TensorFlow's ExponentialMovingAverage with num_updates, so early steps
    /// are not held back by the initial weights. Evaluation uses the average, checkpoints save it and a resume restores it.
    /// </summary>
    public double Ema { get; init; }

    /// <summary>Test-time augmentation of every evaluation (validation, test, the report).</summary>
    public TestTimeAugmentation Tta { get; init; }

    /// <summary>
    /// Stop at the first epoch whose test accuracy (after <see cref="Tta"/>, with the <see cref="Ema"/> weights) reaches this
    /// fraction; 0 turns it off. The time it took is <see cref="TrainingState.TrainingSeconds"/>.
    /// </summary>
    public double TargetAccuracy { get; init; }

    /// <summary>Fraction of the training images held out (seeded) for validation, early stopping and checkpoint-best.</summary>
    public double ValidationSplit { get; init; }

    /// <summary>Early stopping: epochs without a better validation loss before stopping; 0 disables.</summary>
    public int Patience { get; init; }

    /// <summary>Use only the first N training images (after the validation split); 0 means all.</summary>
    public int TrainLimit { get; init; }

    /// <summary>Use only the first N test images; 0 means all.</summary>
    public int TestLimit { get; init; }

    /// <summary>
    /// The run's seed, the only source of randomness (no clock, process hash or thread timing):
    /// initial weights come from the <see cref="SeededRandom"/> stream (seed, <see cref="SeededRandom.InitializationStream"/>, 0),
    /// epoch e's data order from (seed, <see cref="SeededRandom.EpochOrderStream"/>, e), the validation split from
    /// SplitMix64 started at the seed itself, and augmentation and dropout masks from the counter hash
    /// <see cref="RngKey"/>(seed, call site, step). So a run is a function of its options, and a resume repeats it exactly.
    /// </summary>
    public int Seed { get; init; }

    /// <summary>Stop after this many epochs of this invocation (checkpoint kept, resumable); 0 means run to --epochs.</summary>
    public int StopAfter { get; init; }

    /// <summary>The largest batch accepted: far above what any preset fits in memory, and a bound on what a checkpoint can make us allocate.</summary>
    public const int MaxBatchSize = 65536;

    /// <summary>Optimizer steps in an epoch of <paramref name="trainImages"/> images (the last batch may be smaller).</summary>
    internal int BatchesPerEpoch(int trainImages) => (trainImages + BatchSize - 1) / BatchSize;

    /// <summary>Throws a one-line <see cref="ArgumentException"/> for options the command line would have refused.</summary>
    public void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok)
            {
                throw new ArgumentException(message);
            }
        }

        Require(Epochs >= 1 && StopAfter >= 0 && WarmupEpochs >= 0 && Patience >= 0 && TrainLimit >= 0 && TestLimit >= 0 && Seed >= 0, "epochs must be positive and counts, limits and the seed non-negative");
        Require(BatchSize is >= 1 and <= MaxBatchSize, $"batch {BatchSize} is outside 1..{MaxBatchSize}");
        Require(LearningRate is >= 0 and <= 10 && WeightDecay is >= 0 and <= 10 && LabelSmoothing is >= 0 and <= 0.99 && ValidationSplit is >= 0 and <= 0.9, "learning rate, weight decay, label smoothing or validation split out of range");
        Require(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1 && AdamEpsilon is > 0 and < 1, "AdamW betas must lie in [0, 1) and epsilon in (0, 1)");
        Require(Ema is >= 0 and < 1 && TargetAccuracy is >= 0 and <= 1, "the EMA decay must lie in [0, 1) and the target accuracy in [0, 1]");
        Require(CropPadding is >= 0 and <= 14, $"crop padding {CropPadding} is outside 0..14");
        Require(Enum.IsDefined(Tta) && Enum.IsDefined(Schedule), "unknown test-time augmentation or schedule");
    }

    /// <summary>
    /// The linear scaling rule (Goyal et al., 2017): these options at batch <paramref name="batchSize"/> with the learning
    /// rate multiplied by batchSize / <see cref="BatchSize"/>, so the rate per image stays that of the recipe's batch.
    /// Warmup epochs, schedule and everything else stay; AdamW is less sensitive to batch than SGD, so past ~4× the
    /// recipe's batch prefer a measured rate (the rule is a starting point, not tuned here).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">the batch is outside 1..<see cref="MaxBatchSize"/></exception>
    public TrainOptions WithBatchScaledLearningRate(int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batchSize, MaxBatchSize);
        return this with { BatchSize = batchSize, LearningRate = LearningRate * batchSize / BatchSize };
    }

    /// <summary>The options as JSON (snake_case), as stored in checkpoints.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, TrainingJsonContext.Default.TrainOptions);

    /// <summary>Reads <see cref="ToJson"/>'s output; a <see cref="JsonException"/> on malformed text.</summary>
    public static TrainOptions FromJson(string json)
        => JsonSerializer.Deserialize(json, TrainingJsonContext.Default.TrainOptions) ?? throw new JsonException("training options are null");

    /// <summary>
    /// The recipe a model preset (<see cref="CctConfig.PresetNames"/>) is trained with by default: its row of
    /// <see cref="TrainingRecipes.ForModel"/>, official CCT's (AdamW 5.5e-4, wd 0.06, batch 128, smoothing 0.1, crop+flip,
    /// cosine) or the seed notebook's (Adam 1e-3, batch 64, 10 % validation, patience 5).
    /// </summary>
    /// <exception cref="ArgumentException">the name is not a preset</exception>
    public static TrainOptions ForPreset(string preset) => TrainingRecipes.ForModel(preset).Options;
}
