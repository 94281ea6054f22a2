using System.Text.Json;
using System.Text.Json.Serialization;
using Cct.Training.Reports;

namespace Cct.Training.Training;

/// <summary>
/// Where a run stands: with the options and the seed this fixes everything that comes next (the data
/// order is a function of (seed, epoch) and dropout masks of (seed, step)), so a resume repeats exactly.
/// A new state (all zero, no best yet) is the start of a run; checkpoints save it.
/// </summary>
public sealed record TrainingState
{
    /// <summary>Epochs fully completed.</summary>
    public int Epoch { get; init; }

    /// <summary>Batches already done in the epoch after <see cref="Epoch"/> (non-zero only after an interruption).</summary>
    public int BatchInEpoch { get; init; }

    /// <summary>Optimizer steps taken so far (AdamW's t).</summary>
    public long Step { get; init; }

    /// <summary>The best score so far (validation loss, or training loss without a validation split); +∞ before the first epoch.</summary>
    public double BestMetric { get; init; } = double.PositiveInfinity;

    /// <summary>The epoch that scored <see cref="BestMetric"/> (0 before the first epoch).</summary>
    public int BestEpoch { get; init; }

    /// <summary>Epochs since <see cref="BestEpoch"/>; early stopping compares it with <see cref="TrainOptions.Patience"/>.</summary>
    public int EpochsWithoutImprovement { get; init; }

    /// <summary>
    /// Wall-clock seconds of training steps so far, kernel compilation, evaluation, checkpoints and data upload excluded
    /// (<see cref="EpochMetrics.TimingMethod"/> says how it is measured); the time to <see cref="TrainOptions.TargetAccuracy"/>.
    /// Not saved in checkpoints, which must stay a function of the seed byte for byte: a <see cref="RunFolder"/> resume takes
    /// it from the last epoch of metrics.jsonl (so a resume from mid-epoch drops that epoch's time before the interruption).
    /// </summary>
    [JsonIgnore]
    public double TrainingSeconds { get; init; }

    /// <summary>
    /// The device-side running sums (<see cref="Cct.Gpu.Reductions.TrainingStatistics"/>) of the interrupted epoch, so
    /// its loss, and with it the choice of checkpoint-best, come out as if it had never stopped; null at an epoch end.
    /// </summary>
    public IReadOnlyList<float>? EpochSums { get; init; }

    /// <summary>Throws a one-line <see cref="ArgumentException"/> for a state no run can be in.</summary>
    public void Validate()
    {
        if (Epoch < 0 || BatchInEpoch < 0 || Step < 0 || BestEpoch < 0 || EpochsWithoutImprovement < 0 || double.IsNaN(BestMetric) || !(TrainingSeconds >= 0) || double.IsInfinity(TrainingSeconds))
        {
            throw new ArgumentException($"impossible training state (epoch {Epoch}, batch {BatchInEpoch}, step {Step})");
        }

        if (EpochSums is { } sums && (sums.Count != Cct.Gpu.Reductions.TrainingStatistics.Length || sums.Any(s => !float.IsFinite(s))))
        {
            throw new ArgumentException($"epoch sums must be {Cct.Gpu.Reductions.TrainingStatistics.Length} finite numbers");
        }
    }

    internal string ToJson() => JsonSerializer.Serialize(this, TrainingJsonContext.Default.TrainingState);

    internal static TrainingState FromJson(string json)
        => JsonSerializer.Deserialize(json, TrainingJsonContext.Default.TrainingState) ?? throw new JsonException("training state is null");
}
