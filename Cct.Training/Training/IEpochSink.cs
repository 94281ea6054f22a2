using Cct.Training.Reports;

namespace Cct.Training.Training;

/// <summary>
/// Where a <see cref="Trainer"/> hands each finished epoch, and the exact position when it is cancelled, so that a run
/// can be kept (<see cref="RunFolder"/> writes metrics.jsonl and checkpoints). Called on the thread that runs Fit.
/// </summary>
public interface IEpochSink
{
    /// <summary>An epoch ended: <paramref name="trainer"/>'s model holds its weights, <paramref name="state"/> is where the run resumes from.</summary>
    /// <param name="trainer">the trainer, with the model and the options</param>
    /// <param name="state">the state after the epoch</param>
    /// <param name="metrics">the epoch's losses and accuracies</param>
    /// <param name="improved">whether the epoch scored best so far</param>
    void EpochCompleted(Trainer trainer, TrainingState state, EpochMetrics metrics, bool improved);

    /// <summary>Cancellation stopped the run after a step: <paramref name="state"/> is that exact position, mid-epoch included.</summary>
    /// <param name="trainer">the trainer, with the model and the options</param>
    /// <param name="state">the state after the last step taken</param>
    void Interrupted(Trainer trainer, TrainingState state);
}
