namespace Cct.Training.Reports;

/// <summary>What <see cref="MetricsLog.Read"/> found: the epochs in file order, and one warning per line it skipped.</summary>
internal sealed record MetricsLogContents(IReadOnlyList<EpochMetrics> Epochs, IReadOnlyList<string> Warnings);
