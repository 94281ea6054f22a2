using System.Text.Json;

namespace Cct.Training.Training;

/// <summary>
/// Where a run stands: with the options and the seed this fixes everything that comes next (the data
/// order is a function of (seed, epoch) and dropout masks of (seed, step)), so a resume repeats exactly.
/// </summary>
public sealed record TrainingState
{
    /// <summary>Epochs fully completed.</summary>
    public int Epoch { get; init; }

    /// <summary>Batches already done in the epoch after <see cref="Epoch"/> (non-zero only after an interruption).</summary>
    public int BatchInEpoch { get; init; }

    /// <summary>Optimizer steps taken so far (AdamW's t).</summary>
    public long Step { get; init; }

    public double BestMetric { get; init; } = double.PositiveInfinity;

    public int BestEpoch { get; init; }

    public int EpochsWithoutImprovement { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, TrainingJsonContext.Default.TrainingState);

    public static TrainingState FromJson(string json)
        => JsonSerializer.Deserialize(json, TrainingJsonContext.Default.TrainingState) ?? throw new JsonException("training state is null");
}
