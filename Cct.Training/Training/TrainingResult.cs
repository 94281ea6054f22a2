using Cct.Training.Reports;

namespace Cct.Training.Training;

/// <summary>What one call of <see cref="Trainer"/>'s Fit did.</summary>
/// <param name="Epochs">the metrics of every epoch this call completed, in order</param>
/// <param name="State">where the run stands now: pass it as <c>from</c> to continue</param>
/// <param name="Outcome">why the call returned</param>
public sealed record TrainingResult(IReadOnlyList<EpochMetrics> Epochs, TrainingState State, TrainingOutcome Outcome);
