using System.Buffers.Binary;
using Cct.Training.Data;

namespace Cct.Tests.Training;

/// <summary>Small synthetic IDX contents.</summary>
internal static class DataSamples
{
    /// <summary><paramref name="count"/> random 28×28 images and labels 0–9.</summary>
    public static (byte[] Pixels, byte[] Labels) Random(int count, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[count * 784];
        random.NextBytes(pixels);
        var labels = Enumerable.Range(0, count).Select(_ => (byte)random.Next(10)).ToArray();
        return (pixels, labels);
    }

    /// <summary>An IDX byte stream with any magic and sizes, for malformed files.</summary>
    public static byte[] Idx(int magic, int[] dims, byte[] data)
    {
        var bytes = new byte[4 + (4 * dims.Length) + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (var i = 0; i < dims.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 * (i + 1)), dims[i]);
        }

        data.CopyTo(bytes, 4 + (4 * dims.Length));
        return bytes;
    }

    /// <summary>
    /// Writes the four files of a small dataset into <paramref name="directory"/> (gzipped with the
    /// upstream names, or raw without .gz) and returns the training pixels, which tell sets apart.
    /// </summary>
    public static byte[] WriteDataset(string directory, int count, int seed, bool gzip = true)
    {
        Directory.CreateDirectory(directory);
        var suffix = gzip ? ".gz" : string.Empty;
        var (trainPixels, trainLabels) = Random(count, seed);
        var (testPixels, testLabels) = Random(count, seed + 1000);
        IdxFile.WriteImages(Path.Combine(directory, "train-images-idx3-ubyte" + suffix), trainPixels, count, 28, 28, gzip);
        IdxFile.WriteLabels(Path.Combine(directory, "train-labels-idx1-ubyte" + suffix), trainLabels, gzip);
        IdxFile.WriteImages(Path.Combine(directory, "t10k-images-idx3-ubyte" + suffix), testPixels, count, 28, 28, gzip);
        IdxFile.WriteLabels(Path.Combine(directory, "t10k-labels-idx1-ubyte" + suffix), testLabels, gzip);
        return trainPixels;
    }
}
