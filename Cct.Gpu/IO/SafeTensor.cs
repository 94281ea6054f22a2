using System.Buffers.Binary;

namespace Cct.Gpu.IO;

/// <summary>One tensor of a safetensors file: dtype (F32, F64, I64, I32), shape and raw little-endian bytes.</summary>
public sealed record SafeTensor(string DType, int[] Shape, byte[] Data)
{
    /// <summary>Number of elements: the product of the shape (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The values as floats (F32 as stored; F64 and F16 converted); other dtypes throw <see cref="InvalidDataException"/>.</summary>
    public float[] ToFloats() => DType switch
    {
        "F32" => Convert(4, (s) => BinaryPrimitives.ReadSingleLittleEndian(s)),
        "F64" => Convert(8, (s) => (float)BinaryPrimitives.ReadDoubleLittleEndian(s)),
        "I64" => Convert(8, (s) => (float)BinaryPrimitives.ReadInt64LittleEndian(s)),
        "I32" => Convert(4, (s) => (float)BinaryPrimitives.ReadInt32LittleEndian(s)),
        _ => throw new InvalidDataException($"tensor dtype {DType} cannot be read as float"),
    };

    /// <summary>The values as doubles (F64 as stored, F32 widened); other dtypes throw <see cref="InvalidDataException"/>.</summary>
    public double[] ToDoubles() => DType switch
    {
        "F64" => Convert(8, (s) => BinaryPrimitives.ReadDoubleLittleEndian(s)),
        _ => ToFloats().Select(f => (double)f).ToArray(),
    };

    /// <summary>The values as ints (I64 or I32, checked to fit); other dtypes throw <see cref="InvalidDataException"/>.</summary>
    public int[] ToInts() => DType switch
    {
        "I64" => Convert(8, (s) => checked((int)BinaryPrimitives.ReadInt64LittleEndian(s))),
        "I32" => Convert(4, (s) => BinaryPrimitives.ReadInt32LittleEndian(s)),
        _ => throw new InvalidDataException($"tensor dtype {DType} cannot be read as int"),
    };

    /// <summary>An F32 tensor of <paramref name="data"/> (row-major) with <paramref name="shape"/>; their sizes must agree.</summary>
    public static SafeTensor FromFloats(float[] data, params int[] shape)
    {
        var bytes = new byte[data.Length * 4];
        for (var i = 0; i < data.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), data[i]);
        }

        return new SafeTensor("F32", shape, bytes);
    }

    /// <summary>An I64 tensor of <paramref name="data"/> (row-major) with <paramref name="shape"/>; their sizes must agree.</summary>
    public static SafeTensor FromLongs(long[] data, params int[] shape)
    {
        var bytes = new byte[data.Length * 8];
        for (var i = 0; i < data.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), data[i]);
        }

        return new SafeTensor("I64", shape, bytes);
    }

    private delegate T Reader<out T>(ReadOnlySpan<byte> source);

    private T[] Convert<T>(int size, Reader<T> read)
    {
        var result = new T[Data.Length / size];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = read(Data.AsSpan(i * size, size));
        }

        return result;
    }
}
