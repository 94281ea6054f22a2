using SkiaSharp;

namespace Cct.Training.Reports;

/// <summary>PNG encoding of Skia surfaces.</summary>
internal static class Png
{
    public static byte[] Encode(SKSurface surface)
    {
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100) ?? throw new InvalidOperationException("Skia could not encode the PNG.");
        return data.ToArray();
    }
}
