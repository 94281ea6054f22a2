namespace Cct.Training.Training;

/// <summary>How the learning rate moves after warmup.</summary>
public enum LearningRateScheduleKind
{
    /// <summary>Linear warmup, then cosine decay (the official CCT recipe).</summary>
    Cosine,

    /// <summary>A fixed rate after warmup (the seed notebook's plain Adam).</summary>
    Constant,
}
