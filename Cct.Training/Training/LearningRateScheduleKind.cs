namespace Cct.Training.Training;

/// <summary>How the learning rate moves after warmup.</summary>
public enum LearningRateScheduleKind
{
    /// <summary>Linear warmup, then cosine decay (the official CCT recipe).</summary>
    Cosine,

    /// <summary>A fixed rate after warmup (the seed notebook's plain Adam).</summary>
    Constant,

    /// <summary>
    /// A triangular one-cycle schedule (airbench's, Smith's one-cycle without the momentum cycle): linear from 0.2× the
    /// rate up to the rate at the end of the warmup epochs (a quarter of the run when there are none), then linear down
    /// to 0 at the end of the run.
    /// </summary>
    OneCycle,
}
