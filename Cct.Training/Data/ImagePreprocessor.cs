using SkiaSharp;

namespace Cct.Training.Data;

/// <summary>
/// Turns any PNG (grey or colour, any size) into a 28×28 grey image that looks like FashionMNIST's:
/// composite over white, convert to luma, invert when the background is light (FashionMNIST objects are
/// bright on black), trim the background, scale the longest edge to 28 with area averaging, and centre.
/// This mirrors the dataset's own conversion (trim, resize longest edge, extend, negate).
/// </summary>
public static class ImagePreprocessor
{
    /// <summary>How <see cref="Load"/> converts an image, in one sentence (for help texts).</summary>
    public const string Description = "Images are converted as FashionMNIST's were: grey, inverted if the background is light, trimmed, longest edge scaled to 28, centred.";

    /// <summary>The PNG at <paramref name="path"/> as <paramref name="size"/>×<paramref name="size"/> grey pixels 0–255 (row-major), as a model's Predict takes them.</summary>
    /// <exception cref="InvalidDataException">the file is missing, not a PNG, or too large (one line naming it)</exception>
    public static byte[] Load(string path, int size)
    {
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"{path}: no such file");
        }

        using var bitmap = Decode(path);
        var grey = new float[bitmap.Width * bitmap.Height];
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                var c = bitmap.GetPixel(x, y);
                var alpha = c.Alpha / 255f;
                var luma = ((0.299f * c.Red) + (0.587f * c.Green) + (0.114f * c.Blue)) / 255f;
                grey[(y * bitmap.Width) + x] = (alpha * luma) + (1 - alpha); // over white
            }
        }

        return Convert(grey, bitmap.Width, bitmap.Height, size);
    }

    /// <summary>The largest image accepted, in pixels: a 8K photo fits; a forged header cannot make us allocate gigabytes.</summary>
    internal const long MaxPixels = 50_000_000;

    // Reads the header first and refuses what is not a complete image of a sane size; a truncated file
    // would otherwise decode "successfully" with its missing rows left blank.
    private static SKBitmap Decode(string path)
    {
        using var codec = SKCodec.Create(path) ?? throw new InvalidDataException($"{path}: not a readable image");
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if (width <= 0 || height <= 0 || (long)width * height > MaxPixels)
        {
            throw new InvalidDataException($"{path}: a {width}x{height} image is larger than the {MaxPixels:N0} pixels accepted");
        }

        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var result = codec.GetPixels(bitmap.Info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            bitmap.Dispose();
            throw new InvalidDataException($"{path}: not a readable image ({result})");
        }

        return bitmap;
    }

    /// <summary>grey (h, w) in [0, 1] → (size, size) bytes, object bright on black.</summary>
    internal static byte[] Convert(float[] grey, int width, int height, int size)
    {
        if (BorderMean(grey, width, height) > 0.5f)
        {
            for (var i = 0; i < grey.Length; i++)
            {
                grey[i] = 1 - grey[i];
            }
        }

        var (x0, y0, x1, y1) = Foreground(grey, width, height);
        var cropWidth = x1 - x0 + 1;
        var cropHeight = y1 - y0 + 1;
        var scale = (double)size / Math.Max(cropWidth, cropHeight);
        var outWidth = Math.Clamp((int)Math.Round(cropWidth * scale), 1, size);
        var outHeight = Math.Clamp((int)Math.Round(cropHeight * scale), 1, size);
        var result = new byte[size * size];
        var offsetX = (size - outWidth) / 2;
        var offsetY = (size - outHeight) / 2;
        for (var oy = 0; oy < outHeight; oy++)
        {
            for (var ox = 0; ox < outWidth; ox++)
            {
                // Area average of the source rectangle this output pixel covers.
                var sx0 = x0 + (ox * (double)cropWidth / outWidth);
                var sx1 = x0 + ((ox + 1) * (double)cropWidth / outWidth);
                var sy0 = y0 + (oy * (double)cropHeight / outHeight);
                var sy1 = y0 + ((oy + 1) * (double)cropHeight / outHeight);
                double sum = 0, area = 0;
                for (var sy = (int)sy0; sy < Math.Ceiling(sy1); sy++)
                {
                    var wy = Math.Min(sy + 1, sy1) - Math.Max(sy, sy0);
                    for (var sx = (int)sx0; sx < Math.Ceiling(sx1); sx++)
                    {
                        var wx = Math.Min(sx + 1, sx1) - Math.Max(sx, sx0);
                        sum += grey[(sy * width) + sx] * wx * wy;
                        area += wx * wy;
                    }
                }

                result[((oy + offsetY) * size) + ox + offsetX] = (byte)Math.Clamp(Math.Round(255 * sum / area), 0, 255);
            }
        }

        return result;
    }

    private static float BorderMean(float[] grey, int width, int height)
    {
        double sum = 0;
        var count = 0;
        for (var x = 0; x < width; x++)
        {
            sum += grey[x] + grey[((height - 1) * width) + x];
            count += 2;
        }

        for (var y = 0; y < height; y++)
        {
            sum += grey[y * width] + grey[(y * width) + width - 1];
            count += 2;
        }

        return (float)(sum / count);
    }

    // The bounding box of pixels brighter than 10 %; the whole image when nothing is.
    private static (int X0, int Y0, int X1, int Y1) Foreground(float[] grey, int width, int height)
    {
        int x0 = width, y0 = height, x1 = -1, y1 = -1;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                if (grey[(y * width) + x] > 0.1f)
                {
                    x0 = Math.Min(x0, x);
                    x1 = Math.Max(x1, x);
                    y0 = Math.Min(y0, y);
                    y1 = Math.Max(y1, y);
                }
            }
        }

        return x1 < 0 ? (0, 0, width - 1, height - 1) : (x0, y0, x1, y1);
    }
}
