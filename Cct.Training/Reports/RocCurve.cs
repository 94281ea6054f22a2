namespace Cct.Training.Reports;

/// <summary>
/// One-vs-rest ROC curve: <see cref="Thresholds"/>[0] is +∞ with the point (0, 0), then one point per distinct
/// score in decreasing order (sklearn's <c>roc_curve</c> with <c>drop_intermediate=False</c>). Rates are NaN when
/// the class has no positives (TPR) or no negatives (FPR), as in sklearn; <see cref="Auc"/> is then NaN.
/// </summary>
internal sealed record RocCurve(double[] FalsePositiveRate, double[] TruePositiveRate, double[] Thresholds)
{
    /// <summary>Area under the curve by the trapezoidal rule; equals sklearn's <c>roc_auc_score</c>.</summary>
    public double Auc => Metrics.Trapezoid(FalsePositiveRate, TruePositiveRate);
}
