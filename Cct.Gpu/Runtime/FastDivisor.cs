namespace Cct.Gpu.Runtime;

/// <summary>
/// n / d and n mod d for 0 ≤ n &lt; 2^31 by one multiply and a shift, with the multiplier worked out on the host
/// (Granlund and Montgomery 1994, theorem 4.2: with l = ⌈log2 d⌉ and m = ⌊2^(31+l) / d⌋ + 1, 2^(31+l) &lt; m·d ≤
/// 2^(31+l) + 2^l, so ⌊n·m / 2^(31+l)⌋ = ⌊n / d⌋ exactly; m &lt; 2^32, so 2n and m are both 32-bit and the quotient is
/// the high word of their product shifted right by l). Item kernels and the convolution gathers split their
/// flat index into coordinates with it: a division by a kernel argument is a long scalar sequence on a GPU and has no
/// vector instruction on a CPU, so PoCL ran it a lane at a time (measured in MaxPool2d, docs/opencl.md).
/// </summary>
internal readonly record struct FastDivisor(int Divisor, long Multiplier, int Shift)
{
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="divisor"/> is not positive</exception>
    public static FastDivisor Of(int divisor)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(divisor);
        var l = 0;
        while ((1L << l) < divisor)
        {
            l++;
        }

        var shift = 31 + l;
        return new FastDivisor(divisor, (long)(((1UL << shift) / (ulong)divisor) + 1), shift);
    }

    /// <summary>⌊n / Divisor⌋ for 0 ≤ n &lt; 2^31.</summary>
    // ⌊n·m / 2^(31+l)⌋ = ⌊2n·m / 2^(32+l)⌋, and 2n < 2^32: the high word of one unsigned 32 x 32-bit product, shifted
    // right by l (IMAD.HI.U32 and a 32-bit shift). The signed 64-bit product and shift took three IMADs and two funnel
    // shifts, with a register pair, in the convolution gathers' SASS.
    public int Divide(int n) => (int)((uint)(((ulong)((uint)n << 1) * (uint)Multiplier) >> 32) >> (Shift - 31));

    /// <summary>n = quotient·Divisor + remainder, both for 0 ≤ n &lt; 2^31.</summary>
    public (int Quotient, int Remainder) DivRem(int n)
    {
        var quotient = Divide(n);
        return (quotient, n - (quotient * Divisor));
    }
}
