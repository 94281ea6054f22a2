namespace Cct.Training.Reports;

/// <summary>Scores of one class; <see cref="Auc"/> is null when the class has no positives or no negatives.</summary>
internal sealed record ClassReport(string Name, double Precision, double Recall, double F1, int Support, double? Auc);
