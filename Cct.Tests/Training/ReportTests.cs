using System.Text.Json;
using Cct.Training.Reports;
using SkiaSharp;

namespace Cct.Tests.Training;

public sealed class ReportTests
{
    private static readonly string[] Names = ["T-shirt/top", "Trouser", "Ankle boot"];

    // Same labels as MetricsTests: class 2 is never predicted.
    private static readonly int[] TrueLabels = [0, 1, 2, 0, 1, 2, 0, 1];
    private static readonly int[] Predicted = [0, 0, 1, 0, 1, 1, 0, 1];

    private string directory = "";

    [SetUp]
    public void CreateDirectory() => directory = Directory.CreateTempSubdirectory("cct-report-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(directory, recursive: true);

    /// <summary>0.8 on the predicted class and 0.1 elsewhere, so the AUCs can be counted by hand.</summary>
    private static float[] Probabilities(int[] predicted, int k)
        => [.. predicted.SelectMany(p => Enumerable.Range(0, k).Select(c => c == p ? 0.8f : 0.1f))];

    /// <summary>Sample i is a bright square of side 4 + 2i on black, so every image differs.</summary>
    private static byte[] Images(int n)
    {
        var images = new byte[n * SampleGrid.ImagePixels];
        for (var i = 0; i < n; i++)
        {
            var side = 4 + (2 * i);
            for (var y = 0; y < side; y++)
            {
                for (var x = 0; x < side; x++)
                {
                    images[(i * SampleGrid.ImagePixels) + ((2 + y) * SampleGrid.ImageSide) + 2 + x] = (byte)(255 - (8 * i));
                }
            }
        }

        return images;
    }

    private static ReportInput Input(IReadOnlyList<EpochMetrics>? epochs = null)
        => new(Names, TrueLabels, Predicted, Probabilities(Predicted, 3), Images(TrueLabels.Length), epochs);

    [Test]
    public void AttentionPngOverlaysEachChosenSample()
    {
        // Maps on a 7x7 grid peaked at a different token per sample.
        int[] samples = [0, 3, 5];
        var maps = new float[samples.Length * 49];
        for (var m = 0; m < samples.Length; m++)
        {
            maps[(m * 49) + (m * 10)] = 1f;
        }

        ReportWriter.Write(directory, Input() with { Attention = new AttentionSamples(samples, maps, 7, "sequence pooling") });
        using var bitmap = SKBitmap.Decode(Path.Combine(directory, ReportWriter.AttentionFile));
        Assert.That(bitmap, Is.Not.Null);
        Assert.That((bitmap.Width, bitmap.Height), Is.EqualTo((8 * 156, 36 + ((28 * 4) + 30))), "one row of 8 cells");

        // The first cell's overlay is brightest where its map peaks (token 0, the top-left corner) and dark blue
        // (viridis' low end over a black background) far from it.
        var cellLeft = (156 - 112) / 2;
        var peak = bitmap.GetPixel(cellLeft + 4, 36 + 4);
        var far = bitmap.GetPixel(cellLeft + 100, 36 + 100);
        Assert.That(peak.Red + peak.Green, Is.GreaterThan(far.Red + far.Green + 100), $"peak {peak}, far {far}");
    }

    [Test]
    public void AttentionMapsAreUpsampledWithoutChangingTheirMean()
    {
        var map = Enumerable.Range(0, 49).Select(i => i / 49f).ToArray();
        var upsampled = AttentionPlot.Upsample(map, 7);
        Assert.That(upsampled, Has.Length.EqualTo(784));
        // Bilinear with clamped edges keeps the mean of a linear ramp up to the edge clamping (< 2 %).
        Assert.That(upsampled.Average(), Is.EqualTo(map.Average()).Within(0.02));
        Assert.That(upsampled[0], Is.EqualTo(map[0]), "the corner token's value reaches the corner");
        Assert.That(AttentionPlot.Colour(0), Is.Not.EqualTo(AttentionPlot.Colour(1)));
    }

    [Test]
    public void EpochAxesHaveIntegerTicks()
    {
        var epochs = Enumerable.Range(1, 3).Select(e => MetricsLogTests.Epoch(e, val: 1.0 / e)).ToList();
        var (loss, accuracy) = ReportPlots.CurvesPlots(epochs);
        using (loss)
        using (accuracy)
        {
            foreach (var plot in new[] { loss, accuracy })
            {
                plot.GetImageBytes(700, 500, ScottPlot.ImageFormat.Png);
                var ticks = plot.Axes.Bottom.TickGenerator.Ticks.Where(t => t.IsMajor).Select(t => t.Position).ToList();
                Assert.That(ticks, Is.Not.Empty);
                Assert.That(ticks, Is.All.Matches<double>(t => t == Math.Round(t)), string.Join(", ", ticks));
            }
        }
    }

    [Test]
    public void ReportJsonRoundTripsTheHandComputedValues()
    {
        ReportWriter.Write(directory, Input());
        var report = ClassificationReport.ReadJson(Path.Combine(directory, ClassificationReport.FileName));

        Assert.That(report.ConfusionMatrix, Is.EqualTo(new[] { new[] { 3, 0, 0 }, [1, 2, 0], [0, 2, 0] }));
        Assert.That(report.Accuracy, Is.EqualTo(5.0 / 8).Within(1e-12));
        Assert.That(report.Samples, Is.EqualTo(8));
        Assert.That(report.Classes.Select(c => c.Name), Is.EqualTo(Names));
        Assert.That(report.Classes.Select(c => c.Precision), Is.EqualTo(new[] { 0.75, 0.5, 0 }).Within(1e-12));
        Assert.That(report.Classes.Select(c => c.Recall), Is.EqualTo(new[] { 1, 2.0 / 3, 0 }).Within(1e-12));
        Assert.That(report.Classes.Select(c => c.F1), Is.EqualTo(new[] { 6.0 / 7, 4.0 / 7, 0 }).Within(1e-12));
        Assert.That(report.Classes.Select(c => c.Support), Is.EqualTo(new[] { 3, 3, 2 }));
        // Rank counts: class 0 wins 4 and ties 1 of 5 negatives per positive; class 2's scores are all tied.
        Assert.That(report.Classes.Select(c => c.Auc!.Value), Is.EqualTo(new[] { 13.5 / 15, 9.5 / 15, 0.5 }).Within(1e-12));
        Assert.That(report.MacroAvg, Is.EqualTo(new AverageReport(1.25 / 3, 5.0 / 9, 10.0 / 21, 8, 61.0 / 90)).Using<AverageReport>(Close));
        Assert.That(report.WeightedAvg, Is.EqualTo(new AverageReport(3.75 / 8, 5.0 / 8, 15.0 / 28, 8, 0.7)).Using<AverageReport>(Close));
    }

    [Test]
    public void ReportJsonUsesSnakeCaseKeysAndNullForUndefinedAuc()
    {
        // Class 2 has no samples at all: its AUC is undefined and left out of the averages.
        int[] labels = [0, 1, 0, 1];
        var report = ClassificationReport.Compute(Names, labels, labels, Probabilities(labels, 3));
        var path = Path.Combine(directory, ClassificationReport.FileName);
        report.WriteJson(path);

        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var root = json.RootElement;
        Assert.That(root.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "accuracy", "samples", "classes", "macro_avg", "weighted_avg", "confusion_matrix" }));
        Assert.That(root.GetProperty("classes")[0].EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "name", "precision", "recall", "f1", "support", "auc" }));
        Assert.That(root.GetProperty("classes")[2].GetProperty("auc").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(root.GetProperty("macro_avg").GetProperty("auc").GetDouble(), Is.EqualTo(1.0));
        Assert.That(ClassificationReport.ReadJson(path).Classes[2].Auc, Is.Null);
    }

    [Test]
    public void MalformedReportJsonGivesAClearError()
    {
        var path = Path.Combine(directory, ClassificationReport.FileName);
        File.WriteAllText(path, "{\"accuracy\": 0.5");
        Assert.That(() => ClassificationReport.ReadJson(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("not a valid report"));
    }

    [Test]
    public void TextTableMatchesSklearnsLayout()
    {
        // The example in sklearn's classification_report documentation, with its printed output.
        int[] labels = [0, 1, 2, 2, 2];
        int[] predicted = [0, 0, 2, 2, 1];
        var report = ClassificationReport.Compute(["class 0", "class 1", "class 2"], labels, predicted, Probabilities(predicted, 3));
        const string expected =
            "              precision    recall  f1-score   support\n" +
            "\n" +
            "     class 0       0.50      1.00      0.67         1\n" +
            "     class 1       0.00      0.00      0.00         1\n" +
            "     class 2       1.00      0.67      0.80         3\n" +
            "\n" +
            "    accuracy                           0.60         5\n" +
            "   macro avg       0.50      0.56      0.49         5\n" +
            "weighted avg       0.70      0.60      0.61         5\n";
        Assert.That(report.ToText(digits: 2), Is.EqualTo(expected));
    }

    [Test]
    public void WriterReturnsTheTableAndWritesValidPngsAtomically()
    {
        var text = ReportWriter.Write(directory, Input([MetricsLogTests.Epoch(1, val: 0.9), MetricsLogTests.Epoch(2, val: 0.8, test: 0.7)]));
        Assert.That(text, Does.Contain("T-shirt/top").And.Contain("weighted avg").And.Contain("0.6250"));

        var expectedSizes = new Dictionary<string, (int, int)>
        {
            [ReportWriter.ConfusionFile] = (900, 800),
            [ReportWriter.RocFile] = (800, 700),
            [ReportWriter.CurvesFile] = (1400, 550),
            // 8 samples: one row of 8 cells under the header.
            [ReportWriter.SamplesFile] = (8 * 156, 36 + 142),
        };
        foreach (var (file, (width, height)) in expectedSizes)
        {
            using var bitmap = DecodePng(Path.Combine(directory, file));
            Assert.That((bitmap.Width, bitmap.Height), Is.EqualTo((width, height)), file);
        }

        Assert.That(Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal),
            Is.EqualTo(new[] { ReportWriter.ConfusionFile, ReportWriter.CurvesFile, ClassificationReport.FileName, ReportWriter.RocFile, ReportWriter.SamplesFile }),
            "exactly the report files, no temporary ones");
    }

    [Test]
    public void CurvesAndSamplesAreLeftOutWithoutTheirInputs()
    {
        ReportWriter.Write(directory, Input() with { Images = null });
        Assert.That(File.Exists(Path.Combine(directory, ReportWriter.CurvesFile)), Is.False);
        Assert.That(File.Exists(Path.Combine(directory, ReportWriter.SamplesFile)), Is.False);
        Assert.That(File.Exists(Path.Combine(directory, ReportWriter.RocFile)), Is.True);
    }

    [Test]
    public void InconsistentInputIsRejectedBeforeAnythingIsWritten()
    {
        var report = Path.Combine(directory, "report");
        Assert.That(() => ReportWriter.Write(report, Input() with { Probabilities = new float[5] }), Throws.ArgumentException.With.Message.Contains("expected 8 samples × 3 classes"));
        Assert.That(() => ReportWriter.Write(report, Input() with { Images = new byte[10] }), Throws.ArgumentException.With.Message.Contains("expected 8 images of 28×28"));
        Assert.That(() => ReportWriter.Write(report, Input() with { TrueLabels = [0, 1, 2, 0, 1, 2, 0, 3] }), Throws.ArgumentException.With.Message.Contains("trueLabels[7] is 3; classes are 0..2"));
        Assert.That(Directory.Exists(report), Is.False);
    }

    [Test]
    public void ShippedFontIsWhatScottPlotResolves()
    {
        Assert.That(ReportFont.Typeface.FamilyName, Is.EqualTo("DejaVu Sans"));
        using var plot = new ScottPlot.Plot();
        ReportFont.Apply(plot);
        Assert.That(plot.Axes.Bottom.Label.FontName, Is.EqualTo(ReportFont.Name));
        Assert.That(ScottPlot.Fonts.GetTypeface(ReportFont.Name, false, false), Is.SameAs(ReportFont.Typeface));
    }

    [Test]
    public void ClassNamesAreReallyDrawnOnTheConfusionPlot()
    {
        // The band left of the top heatmap row holds only its class name ("True" is centred lower down): without a
        // usable font it stays white, as it does when the names are blank.
        var matrix = Metrics.ConfusionMatrix(TrueLabels, Predicted, 3);
        Assert.That(DarkPixelsBesideTopRow(matrix, Names), Is.GreaterThan(60), "class name drawn");
        Assert.That(DarkPixelsBesideTopRow(matrix, ["", "", ""]), Is.LessThan(5), "nothing drawn without names");
    }

    private static int DarkPixelsBesideTopRow(int[][] matrix, string[] names)
    {
        using var plot = ReportPlots.ConfusionPlot(matrix, names);
        using var image = Decode(plot.GetImageBytes(900, 800, ScottPlot.ImageFormat.Png));
        var data = plot.LastRender.DataRect;
        var rowHeight = data.Height / names.Length;
        // Stop short of the tick marks at the data edge.
        var band = new SKRectI(0, (int)data.Top, (int)data.Left - 8, (int)(data.Top + rowHeight));
        return DarkPixels(image, band);
    }

    [Test]
    public void SampleCaptionsAreGreenWhenCorrectAndRedWhenWrong()
    {
        var chosen = SampleGrid.Choose(TrueLabels, Predicted);
        Assert.That(chosen, Is.EqualTo(new[] { 0, 3, 4, 6, 7, 1, 2, 5 }), "correct ones first, then misclassified");
        using var grid = Decode(SampleGrid.Png(Images(8), TrueLabels, Predicted, Names, chosen));
        // Caption strip under the images of cell 0 (correct) and cell 7 (misclassified).
        var top = 36 + 112;
        Assert.That(Count(grid, new SKRectI(0, top, 156, top + 30), c => c.Green > 100 && c.Red < 60), Is.GreaterThan(20));
        Assert.That(Count(grid, new SKRectI(7 * 156, top, 8 * 156, top + 30), c => c.Red > 150 && c.Green < 60), Is.GreaterThan(20));
        Assert.That(Count(grid, new SKRectI(0, top, 156, top + 30), c => c.Red > 150 && c.Green < 60), Is.Zero);
    }

    [Test]
    public void ChooseFillsWithCorrectOnesWhenFewAreWrong()
    {
        int[] labels = [0, 0, 0, 0, 0, 0];
        int[] predicted = [0, 1, 0, 0, 0, 0];
        Assert.That(SampleGrid.Choose(labels, predicted, count: 4), Is.EqualTo(new[] { 0, 2, 3, 1 }));
        Assert.That(SampleGrid.Choose(labels, [1, 1, 1, 1, 0, 1], count: 4), Is.EqualTo(new[] { 4, 0, 1, 2 }));
    }

    private static bool Close(AverageReport a, AverageReport b)
        => Math.Abs(a.Precision - b.Precision) < 1e-12 && Math.Abs(a.Recall - b.Recall) < 1e-12 && Math.Abs(a.F1 - b.F1) < 1e-12
           && a.Support == b.Support && Math.Abs(a.Auc!.Value - b.Auc!.Value) < 1e-12;

    private static SKBitmap DecodePng(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.That(bytes.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), $"{path}: PNG signature");
        return Decode(bytes);
    }

    private static SKBitmap Decode(byte[] png) => SKBitmap.Decode(png) ?? throw new AssertionException("Skia could not decode the PNG.");

    private static int DarkPixels(SKBitmap bitmap, SKRectI region) => Count(bitmap, region, c => c.Red + c.Green + c.Blue < 3 * 100);

    private static int Count(SKBitmap bitmap, SKRectI region, Func<SKColor, bool> predicate)
    {
        var count = 0;
        for (var y = region.Top; y < region.Bottom; y++)
        {
            for (var x = region.Left; x < region.Right; x++)
            {
                count += predicate(bitmap.GetPixel(x, y)) ? 1 : 0;
            }
        }

        return count;
    }
}
