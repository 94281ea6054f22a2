using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;

namespace Cct.Training.Data;

/// <summary>
/// Reads and writes the IDX format of MNIST-style datasets (big-endian header, unsigned bytes),
/// gzipped or raw. Gzip is recognised by its 0x1f 0x8b magic, not by the file name, because
/// Debian and users rename and recompress these files freely. Every structural problem is a
/// <see cref="DatasetException"/> naming the file.
/// </summary>
internal static class IdxFile
{
    public const int ImagesMagic = 0x00000803;
    public const int LabelsMagic = 0x00000801;

    private const byte UnsignedByteType = 0x08;

    /// <summary>Reads an images file (magic 0x00000803, N×rows×cols) whose images must be <paramref name="rows"/>×<paramref name="cols"/>.</summary>
    public static IdxImages ReadImages(string path, int rows = DatasetSpec.ImageRows, int cols = DatasetSpec.ImageCols)
    {
        var (dims, data) = Read(path, 3, "images");
        if (dims[1] != rows || dims[2] != cols)
        {
            throw new DatasetException($"{path}: images are {dims[1]}×{dims[2]} pixels, expected {rows}×{cols}");
        }

        return new IdxImages(dims[0], rows, cols, data);
    }

    /// <summary>Reads a labels file (magic 0x00000801, N) whose labels must all be below <paramref name="classCount"/>.</summary>
    public static byte[] ReadLabels(string path, int classCount)
    {
        var (_, labels) = Read(path, 1, "labels");
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= classCount)
            {
                throw new DatasetException($"{path}: label {labels[i]} of item {i} is out of range; {classCount} classes allow 0 to {classCount - 1}");
            }
        }

        return labels;
    }

    /// <summary>Writes count×rows×cols <paramref name="pixels"/> as an IDX images file, gzipped when asked.</summary>
    public static void WriteImages(string path, byte[] pixels, int count, int rows, int cols, bool gzip)
    {
        if ((long)count * rows * cols != pixels.Length)
        {
            throw new ArgumentException($"{pixels.Length} pixels do not make {count} images of {rows}×{cols}", nameof(pixels));
        }

        Write(path, ImagesMagic, [count, rows, cols], pixels, gzip);
    }

    /// <summary>Writes <paramref name="labels"/> as an IDX labels file, gzipped when asked.</summary>
    public static void WriteLabels(string path, byte[] labels, bool gzip) => Write(path, LabelsMagic, [labels.Length], labels, gzip);

    private static void Write(string path, int magic, int[] dims, byte[] data, bool gzip)
    {
        var header = new byte[4 * (dims.Length + 1)];
        BinaryPrimitives.WriteInt32BigEndian(header, magic);
        for (var i = 0; i < dims.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 * (i + 1)), dims[i]);
        }

        using var file = File.Create(path);
        using Stream stream = gzip ? new GZipStream(file, CompressionLevel.Optimal) : file;
        stream.Write(header);
        stream.Write(data);
    }

    private static (int[] Dims, byte[] Data) Read(string path, int dimensionCount, string what)
    {
        if (!File.Exists(path))
        {
            throw new DatasetException($"{path}: file not found");
        }

        try
        {
            using var file = File.OpenRead(path);
            using var stream = IsGzip(file) ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
            return ReadIdx(stream, path, dimensionCount, what);
        }
        catch (InvalidDataException e)
        {
            throw new DatasetException($"{path}: corrupt gzip data ({e.Message.TrimEnd('.')})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException($"{path}: cannot read ({e.Message.TrimEnd('.')})", e);
        }
    }

    private static bool IsGzip(FileStream file)
    {
        Span<byte> magic = stackalloc byte[2];
        var read = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        file.Position = 0;
        return read == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    }

    private static (int[] Dims, byte[] Data) ReadIdx(Stream stream, string path, int dimensionCount, string what)
    {
        var expectedMagic = 0x0800 | dimensionCount;
        var magicBytes = new byte[4];
        if (stream.ReadAtLeast(magicBytes, 4, throwOnEndOfStream: false) < 4)
        {
            throw new DatasetException($"{path}: truncated: too short for an IDX header");
        }

        var magic = BinaryPrimitives.ReadInt32BigEndian(magicBytes);
        if (magicBytes[0] != 0 || magicBytes[1] != 0 || magicBytes[2] != UnsignedByteType)
        {
            throw new DatasetException($"{path}: bad magic number 0x{magic:X8}, expected 0x{expectedMagic:X8} (IDX {what})");
        }

        if (magicBytes[3] != dimensionCount)
        {
            throw new DatasetException(
                $"{path}: has {magicBytes[3]} dimension(s) (magic 0x{magic:X8}), expected {dimensionCount} for IDX {what} (magic 0x{expectedMagic:X8})");
        }

        var sizeBytes = new byte[4 * dimensionCount];
        if (stream.ReadAtLeast(sizeBytes, sizeBytes.Length, throwOnEndOfStream: false) < sizeBytes.Length)
        {
            throw new DatasetException($"{path}: truncated: the IDX header ends before its {dimensionCount} dimension size(s)");
        }

        var dims = new int[dimensionCount];
        long declared = 1;
        for (var i = 0; i < dimensionCount; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(sizeBytes.AsSpan(4 * i));
            if (dims[i] < 0)
            {
                throw new DatasetException($"{path}: dimension {i} has the impossible size {(uint)dims[i]}");
            }

            declared *= dims[i];
            if (declared > Array.MaxLength)
            {
                throw new DatasetException($"{path}: header declares more data than fits in memory");
            }
        }

        var data = ReadPayload(stream, declared);
        if (data.Length < declared)
        {
            throw new DatasetException(
                $"{path}: truncated: header declares {dims[0]} {what} ({Format(declared)} bytes) but only {Format(data.Length)} bytes follow");
        }

        if (stream.ReadByte() >= 0)
        {
            throw new DatasetException($"{path}: more data than the {dims[0]} {what} the header declares");
        }

        return (dims, data);
    }

    // Grows with what actually arrives, so a corrupt header cannot make us allocate gigabytes up front.
    private static byte[] ReadPayload(Stream stream, long declared)
    {
        const int chunk = 1 << 20;
        using var buffer = new MemoryStream((int)Math.Min(declared, 64L * chunk));
        var block = new byte[chunk];
        while (buffer.Length < declared)
        {
            var read = stream.Read(block, 0, (int)Math.Min(chunk, declared - buffer.Length));
            if (read == 0)
            {
                break;
            }

            buffer.Write(block, 0, read);
        }

        return buffer.Length == buffer.Capacity ? buffer.GetBuffer() : buffer.ToArray();
    }

    private static string Format(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
