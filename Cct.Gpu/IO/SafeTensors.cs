using System.Buffers.Binary;
using System.Text.Json;

namespace Cct.Gpu.IO;

/// <summary>
/// The safetensors format: 8-byte little-endian header length, a JSON header (name → dtype, shape,
/// data_offsets; optional "__metadata__" of strings), then the raw data. PyTorch tooling reads it.
/// </summary>
public sealed class SafeTensorsFile
{
    /// <summary>The header limit of the reference implementation (100 MB).</summary>
    public const ulong MaxHeaderLength = 100_000_000;

    private static readonly Dictionary<string, int> ElementSizes = new(StringComparer.Ordinal)
    {
        ["F32"] = 4, ["F64"] = 8, ["I64"] = 8, ["I32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["U8"] = 1,
    };

    /// <summary>A file of named tensors and optional string metadata (stored under <c>__metadata__</c>).</summary>
    public SafeTensorsFile(IReadOnlyDictionary<string, SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Tensors = tensors;
        Metadata = metadata ?? new Dictionary<string, string>();
    }

    /// <summary>The tensors by name.</summary>
    public IReadOnlyDictionary<string, SafeTensor> Tensors { get; }

    /// <summary>The <c>__metadata__</c> strings (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor called <paramref name="name"/>; a <see cref="KeyNotFoundException"/> naming it when absent.</summary>
    public SafeTensor this[string name]
        => Tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"no tensor named '{name}' in safetensors file");

    /// <summary>Reads and validates a file; any problem (unreadable, malformed header, bad offsets) is a one-line <see cref="InvalidDataException"/> naming the file.</summary>
    public static SafeTensorsFile Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot read ({e.Message})", e);
        }

        return Parse(bytes, path);
    }

    /// <summary>Parses safetensors bytes, validating the header, dtypes, shapes and offsets; <paramref name="source"/> names them in errors.</summary>
    public static SafeTensorsFile Parse(byte[] bytes, string source)
    {
        if (bytes.Length < 8)
        {
            throw new InvalidDataException($"{source}: not a safetensors file (shorter than its 8-byte header length)");
        }

        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > MaxHeaderLength)
        {
            throw new InvalidDataException($"{source}: safetensors header of {headerLength} bytes exceeds the format's {MaxHeaderLength} limit");
        }

        if (headerLength > (ulong)(bytes.Length - 8))
        {
            throw new InvalidDataException($"{source}: truncated safetensors file (header of {headerLength} bytes, file of {bytes.Length})");
        }

        var dataStart = 8 + (int)headerLength;
        var tensors = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var extents = new List<(long Begin, long End, string Name)>();
        try
        {
            using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__")
                {
                    foreach (var m in entry.Value.EnumerateObject())
                    {
                        metadata[m.Name] = m.Value.GetString() ?? string.Empty;
                    }

                    continue;
                }

                var dtype = entry.Value.GetProperty("dtype").GetString() ?? string.Empty;
                var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                if (!ElementSizes.TryGetValue(dtype, out var size))
                {
                    throw new InvalidDataException($"{source}: tensor '{entry.Name}' has unsupported dtype {dtype}");
                }

                if (shape.Any(d => d < 0))
                {
                    throw new InvalidDataException($"{source}: tensor '{entry.Name}' has a negative dimension");
                }

                var count = shape.Aggregate(1L, (a, b) => checked(a * b));
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] - offsets[0] != checked(count * size) || offsets[1] > bytes.Length - dataStart)
                {
                    throw new InvalidDataException($"{source}: tensor '{entry.Name}' data is truncated or its offsets disagree with its shape");
                }

                extents.Add((offsets[0], offsets[1], entry.Name));

                tensors[entry.Name] = new SafeTensor(dtype, shape, bytes.AsSpan(dataStart + (int)offsets[0], (int)(offsets[1] - offsets[0])).ToArray());
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or OverflowException or ArgumentException)
        {
            throw new InvalidDataException($"{source}: malformed safetensors header ({e.Message.ReplaceLineEndings(" ")})", e);
        }

        // The format's data region is tiled by the tensors: no overlaps, no holes (as the reference reader demands).
        long next = 0;
        foreach (var (begin, end, name) in extents.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (begin != next)
            {
                throw new InvalidDataException($"{source}: tensor '{name}' {(begin < next ? "overlaps the tensor before it" : "leaves a hole before it")} in the data");
            }

            next = end;
        }

        if (next != bytes.Length - dataStart)
        {
            throw new InvalidDataException($"{source}: {bytes.Length - dataStart - next} bytes after the last tensor belong to none");
        }

        return new SafeTensorsFile(tensors, metadata);
    }

    /// <summary>Serialises to bytes, tensors in the given order.</summary>
    public byte[] ToBytes()
    {
        using var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (Metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in Metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var (name, tensor) in Tensors)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", tensor.DType);
                json.WriteStartArray("shape");
                foreach (var d in tensor.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + tensor.Data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += tensor.Data.Length;
            }

            json.WriteEndObject();
        }

        // The format pads the header with spaces so the data starts 8-byte aligned.
        var headerBytes = header.ToArray().ToList();
        while ((8 + headerBytes.Count) % 8 != 0)
        {
            headerBytes.Add((byte)' ');
        }

        using var output = new MemoryStream();
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Count);
        output.Write(length);
        output.Write(headerBytes.ToArray());
        foreach (var tensor in Tensors.Values)
        {
            output.Write(tensor.Data);
        }

        return output.ToArray();
    }

    /// <summary>Writes atomically: a temporary file beside the target, flushed to disk, then renamed over it.</summary>
    public void Write(string path)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(ToBytes());
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }
}
