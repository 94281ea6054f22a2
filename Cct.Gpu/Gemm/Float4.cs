using System.Runtime.InteropServices;

namespace Cct.Gpu.Gemm;

/// <summary>Four floats moved as one 16-byte access: the kernel's shared-memory fragments (ld.shared.v4.f32) and accumulators.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 16, Size = 16)]
internal struct Float4
{
    public float X;
    public float Y;
    public float Z;
    public float W;

    /// <summary>value · factor, lane by lane.</summary>
    public static Float4 Scale(Float4 value, float factor)
        => new() { X = value.X * factor, Y = value.Y * factor, Z = value.Z * factor, W = value.W * factor };

    /// <summary>acc + a·b, lane by lane.</summary>
    public static Float4 MultiplyAdd(Float4 acc, float a, Float4 b)
        => new() { X = acc.X + (a * b.X), Y = acc.Y + (a * b.Y), Z = acc.Z + (a * b.Z), W = acc.W + (a * b.W) };
}
