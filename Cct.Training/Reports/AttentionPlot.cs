using System.Globalization;
using Cct.Gpu.Model;
using SkiaSharp;

namespace Cct.Training.Reports;

/// <summary>
/// Attention maps drawn over their images: the token-grid map (<see cref="AttentionMap"/>) is upsampled
/// bilinearly to the image, coloured with a perceptually ordered map (dark blue → yellow, after viridis),
/// and laid over the grey image more opaquely where the map is higher, so the image stays visible where the
/// model does not look. Colours are scaled to each upsampled map's maximum (between token centres the
/// interpolation stays below the peak token's weight, which the colour bar names).
/// </summary>
public static class AttentionPlot
{
    private const int Side = SampleGrid.ImageSide;
    private const int PanelScale = 8;
    private const int Panel = Side * PanelScale;
    private const int Margin = 16;
    private const int HeaderHeight = 56;
    private const int BarWidth = 18;
    private const int GridScale = 4;
    private const int GridColumns = 8;
    private const int CellWidth = 156;
    private const int CellHeight = (Side * GridScale) + 30;
    private const float OverlayMinAlpha = 0.2f;
    private const float OverlayMaxAlpha = 0.8f;

    // Viridis at five stops; between them, linear.
    private static readonly SKColor[] Stops = [new(68, 1, 84), new(59, 82, 139), new(33, 145, 140), new(94, 201, 98), new(253, 231, 37)];

    /// <summary>
    /// Writes one image's attention picture to <paramref name="path"/> (PNG, atomically): the input, the map on the
    /// token grid and the two overlaid, with a colour bar; the map is <paramref name="map"/>'s rollout or its
    /// sequence-pooling weights.
    /// </summary>
    /// <param name="path">the PNG to write</param>
    /// <param name="image">grey image as the model saw it, 0 = black (28, 28)</param>
    /// <param name="map">the image's maps (<see cref="CctModel.AttentionMaps(ReadOnlySpan{byte})"/>)</param>
    /// <param name="rollout">draw the attention rollout rather than the pooling weights</param>
    /// <param name="title">first line of the header, e.g. the predicted class and its probability</param>
    public static void Write(string path, ReadOnlySpan<byte> image, AttentionMap map, bool rollout, string title)
    {
        ArgumentNullException.ThrowIfNull(map);
        AtomicFile.WriteAllBytes(path, Png(image, rollout ? map.Rollout : map.Pooling, map.GridSide, title, MapName(rollout)));
    }

    /// <summary>The header name of a map: the pooling weights, or their rollout through the blocks.</summary>
    internal static string MapName(bool rollout) => rollout ? "attention rollout" : "sequence pooling";

    /// <summary>
    /// One image: input, map and overlay side by side, a colour bar, and a title naming the map and the top class.
    /// </summary>
    /// <param name="image">grey image, 0 = black (28, 28)</param>
    /// <param name="map">weights on the token grid (GridSide, GridSide)</param>
    /// <param name="gridSide">tokens per side</param>
    /// <param name="title">first line of the header, e.g. the predicted class and its probability</param>
    /// <param name="mapName">what the map is ("sequence pooling" or "attention rollout")</param>
    internal static byte[] Png(ReadOnlySpan<byte> image, ReadOnlySpan<float> map, int gridSide, string title, string mapName)
    {
        Validate(image, map, gridSide);
        var max = Max(map);
        var width = (3 * Panel) + (4 * Margin) + BarWidth + 60;
        var height = HeaderHeight + Panel + (2 * Margin);
        using var surface = SKSurface.Create(new SKImageInfo(width, height)) ?? throw new InvalidOperationException("Skia could not create the attention surface.");
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var paint = new SKPaint { IsAntialias = true, Color = SKColors.Black };
        using var titleFont = new SKFont(ReportFont.Typeface, 18);
        using var labelFont = new SKFont(ReportFont.Typeface, 13);
        canvas.DrawText(title, Margin, 24, SKTextAlign.Left, titleFont, paint);
        canvas.DrawText($"input | {mapName} on the {gridSide}×{gridSide} token grid | overlay", Margin, 46, SKTextAlign.Left, labelFont, paint);

        using var grey = GreyImage(image);
        using var heat = HeatImage(map, gridSide, opaque: true);
        using var overlay = HeatImage(map, gridSide, opaque: false);
        var top = HeaderHeight + Margin;
        var sampling = new SKSamplingOptions(SKFilterMode.Nearest);
        canvas.DrawImage(grey, SKRect.Create(Margin, top, Panel, Panel), sampling);
        canvas.DrawImage(heat, SKRect.Create((2 * Margin) + Panel, top, Panel, Panel), sampling);
        canvas.DrawImage(grey, SKRect.Create((3 * Margin) + (2 * Panel), top, Panel, Panel), sampling);
        canvas.DrawImage(overlay, SKRect.Create((3 * Margin) + (2 * Panel), top, Panel, Panel), sampling);

        // Colour bar: 0 at the bottom, the map's maximum at the top.
        var barLeft = (4 * Margin) + (3 * Panel);
        for (var y = 0; y < Panel; y++)
        {
            paint.Color = Colour(1f - (y / (float)(Panel - 1)));
            canvas.DrawRect(barLeft, top + y, BarWidth, 1, paint);
        }

        paint.Color = SKColors.Black;
        canvas.DrawText(max.ToString("0.###", CultureInfo.InvariantCulture), barLeft + BarWidth + 4, top + 10, SKTextAlign.Left, labelFont, paint);
        canvas.DrawText("peak", barLeft + BarWidth + 4, top + 26, SKTextAlign.Left, labelFont, paint);
        canvas.DrawText("token", barLeft + BarWidth + 4, top + 40, SKTextAlign.Left, labelFont, paint);
        canvas.DrawText("0", barLeft + BarWidth + 4, top + Panel, SKTextAlign.Left, labelFont, paint);
        return Reports.Png.Encode(surface);
    }

    /// <summary>A grid of overlays with "predicted / true" captions (green: correct, red: misclassified), 8 to a row.</summary>
    /// <param name="images">grey images (N, 28, 28)</param>
    /// <param name="maps">one map per image on the token grid (N, GridSide, GridSide)</param>
    /// <param name="gridSide">tokens per side</param>
    /// <param name="captions">caption per image and whether the prediction was right (N)</param>
    /// <param name="mapName">what the maps are</param>
    internal static byte[] GridPng(ReadOnlySpan<byte> images, ReadOnlySpan<float> maps, int gridSide, IReadOnlyList<(string Caption, bool Correct)> captions, string mapName)
    {
        var count = captions.Count;
        if (images.Length != count * Side * Side || maps.Length != count * gridSide * gridSide)
        {
            throw new ArgumentException($"{count} captions need {count} images of {Side}×{Side} and {count} maps of {gridSide}×{gridSide}.", nameof(captions));
        }

        var rows = Math.Max(1, (count + GridColumns - 1) / GridColumns);
        using var surface = SKSurface.Create(new SKImageInfo(GridColumns * CellWidth, 36 + (rows * CellHeight))) ?? throw new InvalidOperationException("Skia could not create the attention grid surface.");
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var paint = new SKPaint { IsAntialias = true, Color = SKColors.Black };
        using var headerFont = new SKFont(ReportFont.Typeface, 18);
        using var captionFont = new SKFont(ReportFont.Typeface, 13);
        canvas.DrawText($"{mapName} over test images: predicted / true (green: correct, red: misclassified)", 8, 24, SKTextAlign.Left, headerFont, paint);
        var sampling = new SKSamplingOptions(SKFilterMode.Nearest);
        var cells = gridSide * gridSide;
        for (var i = 0; i < count; i++)
        {
            var image = images.Slice(i * Side * Side, Side * Side);
            var map = maps.Slice(i * cells, cells);
            Validate(image, map, gridSide);
            using var grey = GreyImage(image);
            using var overlay = HeatImage(map, gridSide, opaque: false);
            var left = (i % GridColumns) * CellWidth;
            var top = 36 + ((i / GridColumns) * CellHeight);
            var rect = SKRect.Create(left + ((CellWidth - (Side * GridScale)) / 2f), top, Side * GridScale, Side * GridScale);
            canvas.DrawImage(grey, rect, sampling);
            canvas.DrawImage(overlay, rect, sampling);
            paint.Color = captions[i].Correct ? new SKColor(0, 128, 0) : new SKColor(200, 0, 0);
            var caption = captions[i].Caption;
            var fits = (CellWidth - 6) / Math.Max(1, captionFont.MeasureText(caption));
            using var font = new SKFont(ReportFont.Typeface, 13 * Math.Min(1, fits));
            canvas.DrawText(caption, left + (CellWidth / 2f), top + (Side * GridScale) + 18, SKTextAlign.Center, font, paint);
        }

        return Reports.Png.Encode(surface);
    }

    /// <summary>The map upsampled bilinearly from the token grid to (28, 28), token centres at cell centres, edges clamped.</summary>
    internal static float[] Upsample(ReadOnlySpan<float> map, int gridSide)
    {
        var result = new float[Side * Side];
        var scale = gridSide / (float)Side;
        for (var y = 0; y < Side; y++)
        {
            var gy = Math.Clamp(((y + 0.5f) * scale) - 0.5f, 0, gridSide - 1);
            var y0 = (int)gy;
            var y1 = Math.Min(y0 + 1, gridSide - 1);
            var fy = gy - y0;
            for (var x = 0; x < Side; x++)
            {
                var gx = Math.Clamp(((x + 0.5f) * scale) - 0.5f, 0, gridSide - 1);
                var x0 = (int)gx;
                var x1 = Math.Min(x0 + 1, gridSide - 1);
                var fx = gx - x0;
                var upper = (map[(y0 * gridSide) + x0] * (1 - fx)) + (map[(y0 * gridSide) + x1] * fx);
                var lower = (map[(y1 * gridSide) + x0] * (1 - fx)) + (map[(y1 * gridSide) + x1] * fx);
                result[(y * Side) + x] = (upper * (1 - fy)) + (lower * fy);
            }
        }

        return result;
    }

    /// <summary>The colour of <paramref name="t"/> in [0, 1].</summary>
    internal static SKColor Colour(float t)
    {
        var position = Math.Clamp(t, 0, 1) * (Stops.Length - 1);
        var i = Math.Min((int)position, Stops.Length - 2);
        var f = position - i;
        byte Mix(byte a, byte b) => (byte)Math.Round(a + ((b - a) * f));
        return new SKColor(Mix(Stops[i].Red, Stops[i + 1].Red), Mix(Stops[i].Green, Stops[i + 1].Green), Mix(Stops[i].Blue, Stops[i + 1].Blue));
    }

    private static SKImage GreyImage(ReadOnlySpan<byte> image)
        => SKImage.FromPixelCopy(new SKImageInfo(Side, Side, SKColorType.Gray8, SKAlphaType.Opaque), image) ?? throw new InvalidOperationException("Skia could not wrap an image.");

    private static SKImage HeatImage(ReadOnlySpan<float> map, int gridSide, bool opaque)
    {
        var values = Upsample(map, gridSide);
        var max = Max(values);
        var pixels = new byte[Side * Side * 4];
        for (var i = 0; i < values.Length; i++)
        {
            var t = max > 0 ? values[i] / max : 0;
            var colour = Colour(t);
            var alpha = opaque ? (byte)255 : (byte)Math.Round(255 * (OverlayMinAlpha + ((OverlayMaxAlpha - OverlayMinAlpha) * t)));
            // Premultiplied RGBA.
            pixels[(4 * i) + 0] = (byte)(colour.Red * alpha / 255);
            pixels[(4 * i) + 1] = (byte)(colour.Green * alpha / 255);
            pixels[(4 * i) + 2] = (byte)(colour.Blue * alpha / 255);
            pixels[(4 * i) + 3] = alpha;
        }

        return SKImage.FromPixelCopy(new SKImageInfo(Side, Side, SKColorType.Rgba8888, SKAlphaType.Premul), pixels) ?? throw new InvalidOperationException("Skia could not wrap a map.");
    }

    private static float Max(ReadOnlySpan<float> map)
    {
        var max = 0f;
        foreach (var v in map)
        {
            max = Math.Max(max, v);
        }

        return max;
    }

    private static void Validate(ReadOnlySpan<byte> image, ReadOnlySpan<float> map, int gridSide)
    {
        if (image.Length != Side * Side)
        {
            throw new ArgumentException($"an image must be {Side}×{Side}, not {image.Length} pixels.", nameof(image));
        }

        if (gridSide <= 0 || map.Length != gridSide * gridSide)
        {
            throw new ArgumentException($"a map must be {gridSide}×{gridSide}, not {map.Length} values.", nameof(map));
        }
    }
}
