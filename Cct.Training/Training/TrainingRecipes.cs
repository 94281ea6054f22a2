using Cct.Gpu.Model;

namespace Cct.Training.Training;

/// <summary>
/// The typed table of recipes: each is a <see cref="TrainingRecipe"/> property, <see cref="All"/> lists them and
/// <see cref="ForModel"/> gives every model preset its default. <see cref="Speed"/>, <see cref="Best"/> and
/// <see cref="Seed"/> are the GPU recipes of issue 17, reasoned from published recipes and Cct's one full-scale run
/// (cct-7/3x1, 89.17 % in 8 epochs on an H200 at batch 128) but not yet tuned or measured on a GPU.
/// </summary>
public static class TrainingRecipes
{
    private const string Untuned = "not yet tuned on a GPU: ";

    // Official CCT's recipe as Cct trains the published sizes: AdamW 5.5e-4, wd 0.06, batch 128, smoothing 0.1, crop+flip, cosine.
    private static readonly TrainOptions OfficialOptions = new() { BatchSize = 128 };

    /// <summary>Official CCT's recipe (AdamW 5.5e-4, wd 0.06, batch 128, smoothing 0.1, crop+flip, cosine); the default of cct-2/3x2 … cct-7/3x1.</summary>
    public static TrainingRecipe Official { get; } = new("official", "cct-7/3x1", OfficialOptions, "the official CCT recipe for small images");

    /// <summary>The seed notebook's recipe (Adam 1e-3, batch 64, 10 % validation, patience 5, no augmentation); the <c>seed</c> model's default.</summary>
    public static TrainingRecipe Notebook { get; } = new(
        "notebook",
        "seed",
        OfficialOptions with
        {
            LearningRate = 1e-3,
            WeightDecay = 0,
            BatchSize = 64,
            LabelSmoothing = 0,
            Crop = false,
            Flip = false,
            ValidationSplit = 0.1,
            Patience = 5,
            Schedule = LearningRateScheduleKind.Constant,
            Epochs = 30,
        },
        "the seed notebook's own recipe (93.07 % at its best epoch)");

    /// <summary>cct-tiny's default: few, small steps on the CPU simulator, where a higher rate and smaller batches learn fastest (measured).</summary>
    public static TrainingRecipe Tiny { get; } = new(
        "tiny",
        "cct-tiny",
        OfficialOptions with { Epochs = 3, BatchSize = 32, LearningRate = 5e-3, WeightDecay = 0.05, LabelSmoothing = 0, Crop = false, Flip = false },
        "measured on the CPU simulator");

    /// <summary>
    /// Three minutes on a CPU through OpenCL (PoCL on 2 cores): cct-tiny with 12 channels in its first convolution
    /// (8,999 parameters), cct-tiny's recipe for three epochs at a higher rate. Measured on full FashionMNIST
    /// (docs/opencl.md): 88.07 %, 88.02 % and 87.95 % test accuracy at seeds 0-2 (mean 88.01 %) after 140–166 s of
    /// training (2026-12-04), against 88.39 %, 87.97 % and 87.51 % (mean 87.96 %) with cct-tiny's 8 channels
    /// (2026-12-03), which 16 channels took past three minutes (182.8 s at seed 0).
    /// </summary>
    public static TrainingRecipe Cpu { get; } = new(
        "cpu",
        "cct-tiny",
        Tiny.Options with { Epochs = 3, LearningRate = 7e-3 },
        "measured on PoCL, 2 cores: 87.95–88.07 % in under three minutes")
    {
        Config = CctConfig.Preset("cct-tiny") with { MidChannels = 12, ConvChannels = null },
    };

    /// <summary>
    /// Time to 93 %: cct-4/3x2 (49 tokens, four blocks of 128: a fraction of cct-7/3x1's cost per image) at batch 512 with
    /// airbench's means: a one-cycle schedule, label smoothing 0.2, ±2-pixel translation and flips, a weight EMA and
    /// flip-translate TTA, stopping at 93 %.
    /// </summary>
    public static TrainingRecipe Speed { get; } = new(
        "speed",
        "cct-4/3x2",
        OfficialOptions with
        {
            Epochs = 15,
            BatchSize = 512,
            LearningRate = 2.2e-3,
            WeightDecay = 0.05,
            Schedule = LearningRateScheduleKind.OneCycle,
            LabelSmoothing = 0.2,
            CropPadding = 2,
            Ema = 0.99,
            Tta = TestTimeAugmentation.FlipTranslate,
            TargetAccuracy = 0.93,
        },
        Untuned + "5.5e-4 scaled linearly from batch 128 to 512; airbench's smoothing 0.2, ±2-pixel translation and one-cycle; EMA 0.99 (a horizon of ~100 of the run's ~1,760 steps)");

    /// <summary>
    /// Accuracy within minutes: cct-7/3x1 at batch 256 with warmup and cosine, random erasing on top of crop and flip, a
    /// weight EMA and flip-translate TTA, 16 epochs (about 4.7 minutes at the 3,390 img/s measured at batch 128).
    /// </summary>
    public static TrainingRecipe Best { get; } = new(
        "best",
        "cct-7/3x1",
        OfficialOptions with
        {
            Epochs = 16,
            BatchSize = 256,
            LearningRate = 1.1e-3,
            WarmupEpochs = 2,
            Erase = true,
            Ema = 0.999,
            Tta = TestTimeAugmentation.FlipTranslate,
        },
        Untuned + "the official recipe with 5.5e-4 scaled linearly to batch 256, erasing against the overfitting seen after epoch 8, EMA 0.999 (a horizon of ~4 of 16 epochs)");

    /// <summary>
    /// The notebook's model, to beat its 93.07 %: all 60,000 training images, AdamW with warmup and cosine, ±2-pixel
    /// translation and flips, smoothing 0.1, a weight EMA and flip-translate TTA, 30 epochs at batch 128.
    /// </summary>
    public static TrainingRecipe Seed { get; } = new(
        "seed",
        "seed",
        OfficialOptions with
        {
            Epochs = 30,
            BatchSize = 128,
            LearningRate = 1.4e-3,
            WeightDecay = 0.05,
            WarmupEpochs = 1,
            CropPadding = 2,
            Ema = 0.999,
            Tta = TestTimeAugmentation.FlipTranslate,
        },
        Untuned + "the notebook's Adam 1e-3 at batch 64 scaled by √2 to batch 128 (Adam's square-root rule), with the augmentation, EMA and TTA it lacked");

    /// <summary>Every recipe, in a fixed order.</summary>
    public static IReadOnlyList<TrainingRecipe> All { get; } = [Speed, Best, Seed, Official, Notebook, Tiny, Cpu];

    /// <summary>The names <see cref="ByName"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(r => r.Name).ToArray();

    // Each model preset's default recipe: a table, so a new preset without a row falls back to the official recipe.
    private static readonly IReadOnlyDictionary<string, TrainingRecipe> Defaults = new Dictionary<string, TrainingRecipe>(StringComparer.Ordinal)
    {
        [Notebook.Model] = Notebook,
        [Tiny.Model] = Tiny,
    };

    /// <summary>A recipe by its name (<see cref="Names"/>).</summary>
    /// <exception cref="ArgumentException">no recipe has that name; the message lists them</exception>
    public static TrainingRecipe ByName(string name)
        => All.FirstOrDefault(r => r.Name == name) ?? throw new ArgumentException($"unknown recipe '{name}'; choose one of {string.Join(", ", Names)}", nameof(name));

    /// <summary>The recipe model preset <paramref name="preset"/> trains with by default: the notebook's for <c>seed</c>, cct-tiny's for it, the official one for the rest.</summary>
    /// <exception cref="ArgumentException">the name is not a model preset</exception>
    public static TrainingRecipe ForModel(string preset)
    {
        _ = CctConfig.Preset(preset);
        return Defaults.TryGetValue(preset, out var recipe) ? recipe : Official with { Model = preset };
    }
}
