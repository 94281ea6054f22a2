using Cct.Gpu.Runtime;

namespace Cct.Training.Data;

/// <summary>
/// A labelled set of grey images held in memory: <see cref="Pixels"/> is Count×Rows×Cols bytes
/// (row-major, 0 = black), <see cref="Labels"/> one class index per image. Immutable; subsets copy.
/// </summary>
public sealed class ImageDataset
{
    /// <summary>Images (N, rows, cols) as bytes 0–255, row-major, with a label per image and the class names; sizes are checked.</summary>
    public ImageDataset(int rows, int cols, byte[] pixels, byte[] labels, IReadOnlyList<string> classNames)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        if (pixels.LongLength != (long)labels.Length * rows * cols)
        {
            throw new ArgumentException($"{pixels.Length} pixels do not make {labels.Length} images of {rows}×{cols}", nameof(pixels));
        }

        if (labels.Any(l => l >= classNames.Count))
        {
            throw new ArgumentException($"a label is not below the {classNames.Count} classes", nameof(labels));
        }

        Rows = rows;
        Cols = cols;
        Pixels = pixels;
        Labels = labels;
        ClassNames = classNames;
    }

    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Image height.</summary>
    public int Rows { get; }

    /// <summary>Image width.</summary>
    public int Cols { get; }

    /// <summary>Rows × Cols.</summary>
    public int PixelsPerImage => Rows * Cols;

    /// <summary>All pixels (N, Rows, Cols), 0–255.</summary>
    public byte[] Pixels { get; }

    /// <summary>The class of each image (N).</summary>
    public byte[] Labels { get; }

    /// <summary>Class names, by label.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>
    /// Reads a pair of IDX files, validating both and that they hold as many images as labels.
    /// </summary>
    public static ImageDataset Load(string imagesPath, string labelsPath, DatasetSpec spec)
    {
        var images = IdxFile.ReadImages(imagesPath);
        var labels = IdxFile.ReadLabels(labelsPath, spec.ClassCount);
        if (images.Count != labels.Length)
        {
            throw new DatasetException($"{imagesPath} holds {images.Count} images but {labelsPath} holds {labels.Length} labels");
        }

        return new ImageDataset(images.Rows, images.Cols, images.Pixels, labels, spec.ClassNames);
    }

    /// <summary>The pixels of image <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> Image(int index) => Pixels.AsSpan(checked(index * PixelsPerImage), PixelsPerImage);

    /// <summary>Labels widened to int, the layout the device-side label gather reads.</summary>
    public int[] LabelsAsInts() => Array.ConvertAll(Labels, l => (int)l);

    /// <summary>Images <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> − 1.</summary>
    public ImageDataset Slice(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start, Count - count);
        return new ImageDataset(
            Rows,
            Cols,
            Pixels.AsSpan(start * PixelsPerImage, count * PixelsPerImage).ToArray(),
            Labels.AsSpan(start, count).ToArray(),
            ClassNames);
    }

    /// <summary>The first min(<paramref name="count"/>, Count) images, e.g. for --train-limit.</summary>
    public ImageDataset Take(int count) => Slice(0, Math.Clamp(count, 0, Count));

    /// <summary>The images at <paramref name="indices"/>, in that order.</summary>
    public ImageDataset Select(IReadOnlyList<int> indices)
    {
        var pixels = new byte[(long)indices.Count * PixelsPerImage];
        var labels = new byte[indices.Count];
        for (var i = 0; i < indices.Count; i++)
        {
            Image(indices[i]).CopyTo(pixels.AsSpan(i * PixelsPerImage));
            labels[i] = Labels[indices[i]];
        }

        return new ImageDataset(Rows, Cols, pixels, labels, ClassNames);
    }

    /// <summary>
    /// Splits off round(Count × <paramref name="validationFraction"/>) randomly chosen images as a
    /// validation set. The choice depends only on the seed and Count (a Fisher–Yates shuffle driven
    /// by SplitMix64, so it is the same on every .NET version); both parts keep the original order.
    /// </summary>
    public (ImageDataset Train, ImageDataset Validation) Split(double validationFraction, int seed)
    {
        if (!(validationFraction >= 0 && validationFraction < 1))
        {
            throw new DatasetException($"validation fraction {validationFraction} must be at least 0 and below 1");
        }

        var validationCount = (int)Math.Round(Count * validationFraction, MidpointRounding.AwayFromZero);
        var order = Enumerable.Range(0, Count).ToArray();

        // The seed itself is the state (not a derived stream), as before SeededRandom existed, so splits stay as they were.
        new SeededRandom((uint)seed).Shuffle(order);

        var validation = order[..validationCount];
        var train = order[validationCount..];
        Array.Sort(validation);
        Array.Sort(train);
        return (Select(train), Select(validation));
    }
}
