using System.Buffers.Binary;
using System.Text;

namespace Cct.Training.Export;

/// <summary>
/// A minimal Protocol Buffers encoder: varints, 32-bit floats and length-delimited fields, which is all an
/// ONNX model file needs. Repeated scalars are written unpacked (one key each), which every parser accepts.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream stream = new();

    public byte[] ToArray() => stream.ToArray();

    public ProtoWriter Int(int field, long value)
    {
        Key(field, 0);
        Varint(unchecked((ulong)value));
        return this;
    }

    public ProtoWriter Float(int field, float value)
    {
        Key(field, 5);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        stream.Write(bytes);
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Key(field, 2);
        Varint((ulong)value.Length);
        stream.Write(value);
        return this;
    }

    /// <summary>A nested message, built by <paramref name="build"/>.</summary>
    public ProtoWriter Message(int field, Action<ProtoWriter> build)
    {
        var inner = new ProtoWriter();
        build(inner);
        return Bytes(field, inner.ToArray());
    }

    private void Key(int field, int wireType) => Varint((ulong)((field << 3) | wireType));

    private void Varint(ulong value)
    {
        while (value >= 0x80)
        {
            stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        stream.WriteByte((byte)value);
    }
}
