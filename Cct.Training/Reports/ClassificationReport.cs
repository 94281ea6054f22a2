using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Cct.Training.Reports;

/// <summary>
/// Everything <c>report.json</c> holds: accuracy, per-class precision/recall/F1/support/AUC, macro and
/// support-weighted averages, and the confusion matrix (rows = true class, columns = predicted class).
/// </summary>
internal sealed record ClassificationReport(
    double Accuracy,
    int Samples,
    IReadOnlyList<ClassReport> Classes,
    AverageReport MacroAvg,
    AverageReport WeightedAvg,
    int[][] ConfusionMatrix)
{
    public const string FileName = "report.json";

    /// <param name="classNames">name per class (K)</param>
    /// <param name="trueLabels">true class per sample (N)</param>
    /// <param name="predictedLabels">predicted class per sample (N)</param>
    /// <param name="probabilities">class probabilities, row-major (N, K)</param>
    public static ClassificationReport Compute(IReadOnlyList<string> classNames, ReadOnlySpan<int> trueLabels, ReadOnlySpan<int> predictedLabels, ReadOnlySpan<float> probabilities)
    {
        var k = classNames.Count;
        var confusion = Metrics.ConfusionMatrix(trueLabels, predictedLabels, k);
        var scores = Metrics.PerClass(confusion);
        var classes = new ClassReport[k];
        for (var c = 0; c < k; c++)
        {
            var auc = Metrics.Roc(trueLabels, probabilities, k, c).Auc;
            var s = scores[c];
            classes[c] = new ClassReport(classNames[c], s.Precision, s.Recall, s.F1, s.Support, double.IsNaN(auc) ? null : auc);
        }

        var defined = classes.Where(c => c.Auc.HasValue).ToArray();
        var definedSupport = defined.Sum(c => c.Support);
        double? macroAuc = defined.Length == 0 ? null : defined.Average(c => c.Auc!.Value);
        double? weightedAuc = definedSupport == 0 ? null : defined.Sum(c => c.Auc!.Value * c.Support) / definedSupport;
        var macro = Metrics.MacroAverage(scores);
        var weighted = Metrics.WeightedAverage(scores);
        return new ClassificationReport(
            Metrics.Accuracy(confusion),
            trueLabels.Length,
            classes,
            new AverageReport(macro.Precision, macro.Recall, macro.F1, macro.Support, macroAuc),
            new AverageReport(weighted.Precision, weighted.Recall, weighted.F1, weighted.Support, weightedAuc),
            confusion);
    }

    /// <summary>The table of sklearn's <c>classification_report</c>, in its layout, with <paramref name="digits"/> decimals.</summary>
    public string ToText(int digits = 4)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(digits);
        const string longestHeading = "weighted avg";
        var width = Math.Max(Classes.Count == 0 ? 0 : Classes.Max(c => c.Name.Length), Math.Max(longestHeading.Length, digits));
        var text = new StringBuilder();
        string Number(double value) => value.ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture).PadLeft(9);
        string Count(int value) => value.ToString(CultureInfo.InvariantCulture).PadLeft(9);
        void Row(string name, string precision, string recall, string f1, int support)
            => text.Append(name.PadLeft(width)).Append(' ').Append($" {precision} {recall} {f1} {Count(support)}").Append('\n');

        text.Append(new string(' ', width)).Append(' ').Append($" {"precision",9} {"recall",9} {"f1-score",9} {"support",9}").Append("\n\n");
        foreach (var c in Classes)
        {
            Row(c.Name, Number(c.Precision), Number(c.Recall), Number(c.F1), c.Support);
        }

        text.Append('\n');
        Row("accuracy", new string(' ', 9), new string(' ', 9), Number(Accuracy), Samples);
        Row("macro avg", Number(MacroAvg.Precision), Number(MacroAvg.Recall), Number(MacroAvg.F1), MacroAvg.Support);
        Row(longestHeading, Number(WeightedAvg.Precision), Number(WeightedAvg.Recall), Number(WeightedAvg.F1), WeightedAvg.Support);
        return text.ToString();
    }

    /// <summary>Writes <c>report.json</c> atomically.</summary>
    public void WriteJson(string path) => AtomicFile.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(this, ReportJsonContext.Default.ClassificationReport));

    /// <exception cref="InvalidDataException">The file is not a report this code wrote.</exception>
    public static ClassificationReport ReadJson(string path)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), ReportJsonContext.Default.ClassificationReport)
                ?? throw new InvalidDataException($"{path}: holds null, not a report.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid report ({e.Message}).", e);
        }
    }
}
