namespace Cct.Training.Training;

/// <summary>Why <see cref="Trainer"/>'s Fit returned (a cancelled one throws <see cref="OperationCanceledException"/> instead).</summary>
public enum TrainingOutcome
{
    /// <summary>Every epoch of <see cref="TrainOptions.Epochs"/> ran.</summary>
    Completed,

    /// <summary>The validation loss did not improve for <see cref="TrainOptions.Patience"/> epochs.</summary>
    EarlyStopped,

    /// <summary>This call ran <see cref="TrainOptions.StopAfter"/> epochs and the run has more to go.</summary>
    StoppedAfterRequestedEpochs,

    /// <summary>An evaluation reached <see cref="TrainOptions.TargetAccuracy"/> on the test set.</summary>
    ReachedTarget,
}
