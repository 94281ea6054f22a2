namespace Cct.Training.Reports;

/// <summary>Precision, recall, F1 and support of one class, or an average over classes (support is then the total).</summary>
internal sealed record ClassScores(double Precision, double Recall, double F1, int Support);
