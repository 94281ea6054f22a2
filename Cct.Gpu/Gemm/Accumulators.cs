namespace Cct.Gpu.Gemm;

/// <summary>
/// One thread's 8x8 accumulators: row i of A fragment f (rows 4f + i) times B fragments Lo and Hi (columns 0–3, 4–7).
/// The small tile uses rows 0–3 of Lo only.
/// </summary>
internal struct Accumulators
{
    public Float4 R0Lo, R0Hi, R1Lo, R1Hi, R2Lo, R2Hi, R3Lo, R3Hi;
    public Float4 R4Lo, R4Hi, R5Lo, R5Hi, R6Lo, R6Hi, R7Lo, R7Hi;

    /// <summary>The 4x4 block of A fragment a0 and B fragment b0 (both tiles).</summary>
    public void Add(Float4 a0, Float4 b0)
    {
        R0Lo = Float4.MultiplyAdd(R0Lo, a0.X, b0);
        R1Lo = Float4.MultiplyAdd(R1Lo, a0.Y, b0);
        R2Lo = Float4.MultiplyAdd(R2Lo, a0.Z, b0);
        R3Lo = Float4.MultiplyAdd(R3Lo, a0.W, b0);
    }

    /// <summary>The other three 4x4 blocks of the large tile: (a0, b1), (a1, b0), (a1, b1).</summary>
    public void AddWide(Float4 a0, Float4 a1, Float4 b0, Float4 b1)
    {
        R0Hi = Float4.MultiplyAdd(R0Hi, a0.X, b1);
        R1Hi = Float4.MultiplyAdd(R1Hi, a0.Y, b1);
        R2Hi = Float4.MultiplyAdd(R2Hi, a0.Z, b1);
        R3Hi = Float4.MultiplyAdd(R3Hi, a0.W, b1);
        R4Lo = Float4.MultiplyAdd(R4Lo, a1.X, b0);
        R4Hi = Float4.MultiplyAdd(R4Hi, a1.X, b1);
        R5Lo = Float4.MultiplyAdd(R5Lo, a1.Y, b0);
        R5Hi = Float4.MultiplyAdd(R5Hi, a1.Y, b1);
        R6Lo = Float4.MultiplyAdd(R6Lo, a1.Z, b0);
        R6Hi = Float4.MultiplyAdd(R6Hi, a1.Z, b1);
        R7Lo = Float4.MultiplyAdd(R7Lo, a1.W, b0);
        R7Hi = Float4.MultiplyAdd(R7Hi, a1.W, b1);
    }
}
