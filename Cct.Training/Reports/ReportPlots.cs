using System.Globalization;
using ScottPlot;
using SkiaSharp;

namespace Cct.Training.Reports;

/// <summary>The report's ScottPlot figures, rendered headless to PNG bytes with the shipped font.</summary>
internal static class ReportPlots
{
    /// <summary>Heatmap of counts, true class down the left, predicted class along the bottom, the count in every cell.</summary>
    /// <param name="confusion">counts (K, K), rows = true class</param>
    /// <param name="classNames">name per class (K)</param>
    /// <param name="width">image width in pixels</param>
    /// <param name="height">image height in pixels</param>
    public static byte[] ConfusionPng(int[][] confusion, IReadOnlyList<string> classNames, int width = 900, int height = 800)
    {
        using var plot = ConfusionPlot(confusion, classNames);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    /// <summary>The figure behind <see cref="ConfusionPng"/>; tests read its layout after rendering.</summary>
    internal static Plot ConfusionPlot(int[][] confusion, IReadOnlyList<string> classNames)
    {
        var k = classNames.Count;
        if (confusion.Length != k || confusion.Any(row => row.Length != k))
        {
            throw new ArgumentException($"the confusion matrix must be {k}×{k}, one row and column per class name.", nameof(confusion));
        }

        var plot = NewPlot();
        var intensities = new double[k, k];
        var max = 1;
        for (var t = 0; t < k; t++)
        {
            for (var p = 0; p < k; p++)
            {
                intensities[t, p] = confusion[t][p];
                max = Math.Max(max, confusion[t][p]);
            }
        }

        // By default cell (row r, column c) is centred on (c, k-1-r): row 0 on top, so true class t sits at y = k-1-t.
        var heatmap = plot.Add.Heatmap(intensities);
        // ScottPlot's Blues runs dark to light; reversed, empty cells are white and large counts dark.
        heatmap.Colormap = new ScottPlot.Colormaps.Reversed(new ScottPlot.Colormaps.Blues());
        var colorbar = plot.Add.ColorBar(heatmap);
        colorbar.Label = "count";
        for (var t = 0; t < k; t++)
        {
            for (var p = 0; p < k; p++)
            {
                var cell = plot.Add.Text(confusion[t][p].ToString(CultureInfo.InvariantCulture), p, k - 1 - t);
                cell.LabelAlignment = Alignment.MiddleCenter;
                cell.LabelFontSize = k > 12 ? 9 : 13;
                // Dark cells get white text so every count stays readable.
                cell.LabelFontColor = confusion[t][p] > max / 2 ? Colors.White : Colors.Black;
            }
        }

        double[] positions = [.. Enumerable.Range(0, k).Select(i => (double)i)];
        plot.Axes.Bottom.SetTicks(positions, [.. classNames]);
        plot.Axes.Left.SetTicks([.. positions.Reverse()], [.. classNames]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = -40;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.UpperRight;
        plot.Axes.Bottom.MinimumSize = 90;
        plot.Axes.SetLimits(-0.5, k - 0.5, -0.5, k - 0.5);
        plot.HideGrid();
        plot.Title("Confusion matrix");
        plot.XLabel("Predicted");
        plot.YLabel("True");
        return plot;
    }

    /// <summary>One-vs-rest ROC curve per class with "Name (AUC 0.987)" in the legend, and the chance diagonal.</summary>
    /// <param name="classNames">name per class (K)</param>
    /// <param name="curves">curve per class (K)</param>
    /// <param name="width">image width in pixels</param>
    /// <param name="height">image height in pixels</param>
    public static byte[] RocPng(IReadOnlyList<string> classNames, IReadOnlyList<RocCurve> curves, int width = 800, int height = 700)
    {
        if (curves.Count != classNames.Count)
        {
            throw new ArgumentException($"{curves.Count} ROC curves for {classNames.Count} class names.", nameof(curves));
        }

        using var plot = NewPlot();
        var chance = plot.Add.Line(0, 0, 1, 1);
        chance.LinePattern = LinePattern.Dashed;
        chance.Color = Colors.Gray;
        chance.LegendText = "chance";
        for (var c = 0; c < curves.Count; c++)
        {
            var auc = curves[c].Auc;
            // An undefined curve (no positives or no negatives) is named in the legend but has nothing to draw.
            var defined = !double.IsNaN(auc);
            var line = plot.Add.ScatterLine(
                defined ? curves[c].FalsePositiveRate : [],
                defined ? curves[c].TruePositiveRate : [],
                Palette(c));
            line.LineWidth = 2;
            line.LegendText = defined
                ? $"{classNames[c]} (AUC {auc.ToString("F3", CultureInfo.InvariantCulture)})"
                : $"{classNames[c]} (AUC n/a)";
        }

        plot.Axes.SetLimits(-0.01, 1.01, -0.01, 1.01);
        plot.Title("ROC curves (one vs rest)");
        plot.XLabel("False positive rate");
        plot.YLabel("True positive rate");
        plot.ShowLegend(Alignment.LowerRight);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    /// <summary>Loss (left) and accuracy (right) per epoch: train and validation, and test accuracy where measured.</summary>
    /// <param name="epochs">one record per epoch, in order</param>
    /// <param name="width">image width in pixels</param>
    /// <param name="height">image height in pixels</param>
    public static byte[] CurvesPng(IReadOnlyList<EpochMetrics> epochs, int width = 1400, int height = 550)
    {
        if (epochs.Count == 0)
        {
            throw new ArgumentException("no epoch metrics to plot.", nameof(epochs));
        }

        var (loss, accuracy) = CurvesPlots(epochs);
        using var lossPlot = loss;
        using var accuracyPlot = accuracy;
        using var surface = SKSurface.Create(new SKImageInfo(width, height)) ?? throw new InvalidOperationException($"Skia could not create a {width}×{height} surface.");
        surface.Canvas.Clear(SKColors.White);
        RenderInto(surface.Canvas, lossPlot, new PixelRect(0, width / 2, height, 0));
        RenderInto(surface.Canvas, accuracyPlot, new PixelRect(width / 2, width, height, 0));
        return Png.Encode(surface);
    }

    /// <summary>The two panels behind <see cref="CurvesPng"/>; tests read their ticks after rendering.</summary>
    internal static (Plot Loss, Plot Accuracy) CurvesPlots(IReadOnlyList<EpochMetrics> epochs)
    {
        double[] x = [.. epochs.Select(e => (double)e.Epoch)];
        var loss = NewPlot();
        AddSeries(loss, x, epochs.Select(e => (double?)e.TrainLoss), "train", 0);
        AddSeries(loss, x, epochs.Select(e => e.ValLoss), "validation", 1);
        loss.Title("Loss");
        loss.XLabel("Epoch");
        loss.YLabel("Cross-entropy");
        loss.ShowLegend(Alignment.UpperRight);

        var accuracy = NewPlot();
        AddSeries(accuracy, x, epochs.Select(e => (double?)e.TrainAcc), "train", 0);
        AddSeries(accuracy, x, epochs.Select(e => e.ValAcc), "validation", 1);
        AddSeries(accuracy, x, epochs.Select(e => e.TestAcc), "test", 2);
        accuracy.Title("Accuracy");
        accuracy.XLabel("Epoch");
        accuracy.YLabel("Accuracy");
        accuracy.ShowLegend(Alignment.LowerRight);

        // Epochs are whole numbers: no 1.2, 1.4, ... ticks between them.
        foreach (var plot in new[] { loss, accuracy })
        {
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        }

        return (loss, accuracy);
    }

    /// <summary>A plot clears the canvas before drawing, so each panel is clipped to its own rectangle.</summary>
    private static void RenderInto(SKCanvas canvas, Plot plot, PixelRect rect)
    {
        canvas.Save();
        canvas.ClipRect(new SKRect(rect.Left, rect.Top, rect.Right, rect.Bottom));
        plot.Render(canvas, rect);
        canvas.Restore();
    }

    private static Plot NewPlot()
    {
        var plot = new Plot();
        ReportFont.Apply(plot);
        return plot;
    }

    private static Color Palette(int index) => new ScottPlot.Palettes.Category10().GetColor(index);

    /// <summary>Plots the epochs where the series has a value; a series with none is left out of the legend.</summary>
    private static void AddSeries(Plot plot, double[] x, IEnumerable<double?> values, string name, int color)
    {
        var points = x.Zip(values).Where(p => p.Second.HasValue).ToArray();
        if (points.Length == 0)
        {
            return;
        }

        var series = plot.Add.Scatter(points.Select(p => p.First).ToArray(), points.Select(p => p.Second!.Value).ToArray(), Palette(color));
        series.LegendText = name;
        series.LineWidth = 2;
        series.MarkerSize = 6;
    }
}
