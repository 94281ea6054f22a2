namespace Cct.Training.Reports;

/// <summary>Writes a whole evaluation report into one folder; every file is written atomically.</summary>
internal static class ReportWriter
{
    public const string ConfusionFile = "confusion.png";
    public const string RocFile = "roc.png";
    public const string CurvesFile = "curves.png";
    public const string SamplesFile = "samples.png";
    public const string AttentionFile = "attention.png";

    /// <summary>
    /// Writes <c>report.json</c>, <c>confusion.png</c>, <c>roc.png</c>, <c>samples.png</c> (when images are given),
    /// <c>attention.png</c> (when images and attention maps are given) and <c>curves.png</c> (when epochs are given) into <paramref name="reportDirectory"/>, creating it if needed.
    /// </summary>
    /// <returns>The classification report table, as sklearn prints it.</returns>
    public static string Write(string reportDirectory, ReportInput input)
    {
        Validate(input);
        var names = input.ClassNames;
        // Computed first so that bad labels are reported before the folder is touched.
        var report = ClassificationReport.Compute(names, input.TrueLabels, input.PredictedLabels, input.Probabilities);
        Directory.CreateDirectory(reportDirectory);
        report.WriteJson(Path.Combine(reportDirectory, ClassificationReport.FileName));
        AtomicFile.WriteAllBytes(Path.Combine(reportDirectory, ConfusionFile), ReportPlots.ConfusionPng(report.ConfusionMatrix, names));
        var curves = Enumerable.Range(0, names.Count).Select(c => Metrics.Roc(input.TrueLabels, input.Probabilities, names.Count, c)).ToArray();
        AtomicFile.WriteAllBytes(Path.Combine(reportDirectory, RocFile), ReportPlots.RocPng(names, curves));
        if (input.Epochs is { Count: > 0 } epochs)
        {
            AtomicFile.WriteAllBytes(Path.Combine(reportDirectory, CurvesFile), ReportPlots.CurvesPng(epochs));
        }

        if (input.Images is { } images)
        {
            var chosen = SampleGrid.Choose(input.TrueLabels, input.PredictedLabels);
            AtomicFile.WriteAllBytes(Path.Combine(reportDirectory, SamplesFile), SampleGrid.Png(images, input.TrueLabels, input.PredictedLabels, names, chosen));
            if (input.Attention is { } attention)
            {
                var pixels = attention.Samples.SelectMany(i => images.AsSpan(i * SampleGrid.ImagePixels, SampleGrid.ImagePixels).ToArray()).ToArray();
                var captions = attention.Samples.Select(i => ($"{names[input.PredictedLabels[i]]} / {names[input.TrueLabels[i]]}", input.PredictedLabels[i] == input.TrueLabels[i])).ToList();
                AtomicFile.WriteAllBytes(Path.Combine(reportDirectory, AttentionFile), AttentionPlot.GridPng(pixels, attention.Maps, attention.GridSide, captions, attention.MapName));
            }
        }

        return report.ToText();
    }

    private static void Validate(ReportInput input)
    {
        var k = input.ClassNames.Count;
        var n = input.TrueLabels.Length;
        if (k == 0)
        {
            throw new ArgumentException("a report needs at least one class name.", nameof(input));
        }

        if (n == 0)
        {
            throw new ArgumentException("a report needs at least one sample.", nameof(input));
        }

        if (input.PredictedLabels.Length != n)
        {
            throw new ArgumentException($"{n} true labels but {input.PredictedLabels.Length} predicted labels.", nameof(input));
        }

        if (input.Probabilities.Length != (long)n * k)
        {
            throw new ArgumentException($"{input.Probabilities.Length} probabilities; expected {n} samples × {k} classes.", nameof(input));
        }

        if (input.Images is { } images && images.Length != (long)n * SampleGrid.ImagePixels)
        {
            throw new ArgumentException($"{images.Length} image bytes; expected {n} images of {SampleGrid.ImageSide}×{SampleGrid.ImageSide}.", nameof(input));
        }

        if (input.Attention is { } attention && attention.Samples.Any(i => (uint)i >= (uint)n))
        {
            throw new ArgumentException($"attention maps name a sample outside 0..{n - 1}.", nameof(input));
        }
    }
}
