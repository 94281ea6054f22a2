using System.Text.Json.Serialization;

namespace Cct.Training.Reports;

/// <summary>
/// One epoch of training, as one line of <c>metrics.jsonl</c> with keys <c>epoch, train_loss, train_acc, val_loss,
/// val_acc, test_acc, lr, images_per_second, seconds</c>. Accuracies are fractions in [0, 1]; validation and test
/// values are null when not measured.
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
    double Seconds);
