namespace Cct.Training.Reports;

/// <summary>Everything a report is made from; sample i is row i of every per-sample array.</summary>
/// <param name="ClassNames">name per class (K)</param>
/// <param name="TrueLabels">true class per sample (N)</param>
/// <param name="PredictedLabels">predicted class per sample (N)</param>
/// <param name="Probabilities">class probabilities, row-major (N, K)</param>
/// <param name="Images">grey 28×28 images as stored in the IDX file, row-major (N, 28, 28); null: no samples.png</param>
/// <param name="Epochs">training history; null or empty: no curves.png</param>
/// <param name="Attention">attention maps of some samples; null: no attention.png</param>
internal sealed record ReportInput(
    IReadOnlyList<string> ClassNames,
    int[] TrueLabels,
    int[] PredictedLabels,
    float[] Probabilities,
    byte[]? Images = null,
    IReadOnlyList<EpochMetrics>? Epochs = null,
    AttentionSamples? Attention = null);
