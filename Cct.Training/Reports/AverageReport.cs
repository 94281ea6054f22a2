namespace Cct.Training.Reports;

/// <summary>Scores averaged over classes; support is the total; <see cref="Auc"/> averages the classes whose AUC is defined.</summary>
internal sealed record AverageReport(double Precision, double Recall, double F1, int Support, double? Auc);
