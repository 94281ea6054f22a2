using SkiaSharp;

namespace Cct.Training.Reports;

/// <summary>A grid of test images upscaled with their "pred / true" caption: correct ones in green, misclassified in red.</summary>
internal static class SampleGrid
{
    public const int ImageSide = 28;
    public const int ImagePixels = ImageSide * ImageSide;

    private const int Scale = 4;
    private const int Columns = 8;
    private const int CellWidth = 156;
    private const int CellHeight = (ImageSide * Scale) + 30;
    private const int HeaderHeight = 36;
    private static readonly SKColor CorrectColor = new(0, 128, 0);
    private static readonly SKColor WrongColor = new(200, 0, 0);

    /// <summary>
    /// Picks up to <paramref name="count"/> samples: misclassified ones for up to half the grid (more when there are
    /// too few correct ones), correct ones for the rest, each in sample order; correct ones come first.
    /// </summary>
    /// <param name="trueLabels">true class per sample (N)</param>
    /// <param name="predictedLabels">predicted class per sample (N)</param>
    /// <param name="count">most samples to pick</param>
    /// <returns>chosen sample indices</returns>
    public static int[] Choose(ReadOnlySpan<int> trueLabels, ReadOnlySpan<int> predictedLabels, int count = 32)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var correct = new List<int>();
        var wrong = new List<int>();
        for (var i = 0; i < trueLabels.Length; i++)
        {
            (trueLabels[i] == predictedLabels[i] ? correct : wrong).Add(i);
        }

        var wrongTaken = Math.Min(wrong.Count, Math.Max(count / 2, count - correct.Count));
        var correctTaken = Math.Min(correct.Count, count - wrongTaken);
        return [.. correct.Take(correctTaken), .. wrong.Take(wrongTaken)];
    }

    /// <summary>Draws the chosen samples, 8 to a row.</summary>
    /// <param name="images">grey images, row-major bytes, 0 = black (N, 28, 28)</param>
    /// <param name="trueLabels">true class per sample (N)</param>
    /// <param name="predictedLabels">predicted class per sample (N)</param>
    /// <param name="classNames">name per class (K)</param>
    /// <param name="chosen">sample indices to draw, in grid order</param>
    public static byte[] Png(ReadOnlySpan<byte> images, ReadOnlySpan<int> trueLabels, ReadOnlySpan<int> predictedLabels, IReadOnlyList<string> classNames, IReadOnlyList<int> chosen)
    {
        if (images.Length != (long)trueLabels.Length * ImagePixels)
        {
            throw new ArgumentException($"images hold {images.Length} bytes; expected {trueLabels.Length} images of {ImageSide}×{ImageSide}.", nameof(images));
        }

        var rows = Math.Max(1, (chosen.Count + Columns - 1) / Columns);
        using var surface = SKSurface.Create(new SKImageInfo(Columns * CellWidth, HeaderHeight + (rows * CellHeight)))
            ?? throw new InvalidOperationException("Skia could not create the samples surface.");
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var paint = new SKPaint { IsAntialias = true, Color = SKColors.Black };
        using var headerFont = new SKFont(ReportFont.Typeface, 18);
        canvas.DrawText("predicted / true   (green: correct, red: misclassified)", 8, 24, SKTextAlign.Left, headerFont, paint);
        var imageInfo = new SKImageInfo(ImageSide, ImageSide, SKColorType.Gray8, SKAlphaType.Opaque);
        var sampling = new SKSamplingOptions(SKFilterMode.Nearest);
        for (var slot = 0; slot < chosen.Count; slot++)
        {
            var i = chosen[slot];
            if ((uint)i >= (uint)trueLabels.Length)
            {
                throw new ArgumentException($"chosen sample {i} is not one of the {trueLabels.Length} samples.", nameof(chosen));
            }

            var left = (slot % Columns) * CellWidth;
            var top = HeaderHeight + ((slot / Columns) * CellHeight);
            using var image = SKImage.FromPixelCopy(imageInfo, images.Slice(i * ImagePixels, ImagePixels))
                ?? throw new InvalidOperationException("Skia could not wrap a sample image.");
            var imageLeft = left + ((CellWidth - (ImageSide * Scale)) / 2f);
            canvas.DrawImage(image, SKRect.Create(imageLeft, top, ImageSide * Scale, ImageSide * Scale), sampling);
            paint.Color = trueLabels[i] == predictedLabels[i] ? CorrectColor : WrongColor;
            DrawCaption(canvas, $"{Name(classNames, predictedLabels[i])} / {Name(classNames, trueLabels[i])}", left + (CellWidth / 2f), top + (ImageSide * Scale) + 18, paint);
        }

        return Reports.Png.Encode(surface);
    }

    private static string Name(IReadOnlyList<string> classNames, int label)
        => (uint)label < (uint)classNames.Count ? classNames[label] : throw new ArgumentException($"label {label} has no class name ({classNames.Count} names).", nameof(classNames));

    /// <summary>Centred, shrunk to fit the cell so long names like "T-shirt/top / Ankle boot" stay whole.</summary>
    private static void DrawCaption(SKCanvas canvas, string caption, float centre, float baseline, SKPaint paint)
    {
        using var font = new SKFont(ReportFont.Typeface, 13);
        var fits = (CellWidth - 6) / Math.Max(1, font.MeasureText(caption));
        if (fits < 1)
        {
            font.Size *= fits;
        }

        canvas.DrawText(caption, centre, baseline, SKTextAlign.Center, font, paint);
    }
}
