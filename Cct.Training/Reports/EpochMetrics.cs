using System.Text.Json.Serialization;

namespace Cct.Training.Reports;

/// <summary>
/// One epoch of training, as one line of <c>metrics.jsonl</c> with keys <c>epoch, train_loss, train_acc, val_loss,
/// val_acc, test_acc, lr, images_per_second, seconds</c>. Accuracies are fractions in [0, 1]; validation and test
/// values are null when not measured. Runs since time to accuracy was added also write <c>training_seconds</c>, and the
/// epoch that reached <see cref="Training.TrainOptions.TargetAccuracy"/> writes <c>target_accuracy</c> and <c>timing</c>.
/// </summary>
public sealed record EpochMetrics(
    int Epoch,
    double TrainLoss,
    double TrainAcc,
    double? ValLoss,
    double? ValAcc,
    double? TestAcc,
    [property: JsonPropertyName("lr")] double LearningRate,
    double ImagesPerSecond,
    double Seconds)
{
    /// <summary>
    /// Training seconds of the run up to the end of this epoch (<see cref="Training.TrainingState.TrainingSeconds"/>):
    /// the time to accuracy, measured as <see cref="TimingMethod"/> says; null in logs written before it existed.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? TrainingSeconds { get; init; }

    /// <summary>The target this epoch's test accuracy reached first (<see cref="Training.TrainOptions.TargetAccuracy"/>); null on other epochs.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? TargetAccuracy { get; init; }

    /// <summary>How <see cref="TrainingSeconds"/> was measured, written on the epoch that reached the target.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Timing { get; init; }

    /// <summary>How <see cref="TrainingSeconds"/> is measured.</summary>
    public static string TimingMethod { get; } =
        "sum over epochs of the Stopwatch wall time of the training steps, the device synchronised at the end of each epoch; " +
        "the first step of each Fit call (kernel compilation) is timed to a device synchronise and replaced by the mean " +
        "of the other steps of its epoch; evaluation, checkpoints, data loading and upload are outside the clock";
}
