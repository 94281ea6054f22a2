using Cct.Training.Reports;

namespace Cct.Training.Training;

/// <summary>Where training stands, reported about twice a second and once after every epoch.</summary>
/// <param name="Epoch">the epoch running, from 1</param>
/// <param name="Epochs">epochs in the run</param>
/// <param name="Batch">batches done in this epoch</param>
/// <param name="Batches">batches in an epoch</param>
/// <param name="Loss">mean training loss of the epoch so far</param>
/// <param name="Accuracy">training accuracy of the epoch so far, in [0, 1]</param>
/// <param name="ImagesPerSecond">training throughput of the epoch so far</param>
/// <param name="CompletedEpoch">set once an epoch ends: its metrics, test accuracy included</param>
public sealed record TrainingProgress(int Epoch, int Epochs, int Batch, int Batches, double Loss, double Accuracy, double ImagesPerSecond, EpochMetrics? CompletedEpoch)
{
    /// <summary>With <see cref="CompletedEpoch"/>: whether that epoch scored best so far (the one checkpoint-best holds).</summary>
    public bool Improved { get; init; }
}
