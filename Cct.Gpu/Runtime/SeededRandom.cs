namespace Cct.Gpu.Runtime;

/// <summary>
/// The host-side random numbers of a run: SplitMix64 (Steele, Lea and Flood, 2014), a fixed function of
/// its 64-bit state, so a sequence depends on the seed alone, never on the process, the .NET version,
/// string hashing or timing. Each use draws from its own stream, whose state is
/// <see cref="StreamState"/>(seed, stream, index); the device side uses <see cref="RngKey"/> the same way.
/// </summary>
internal struct SeededRandom
{
    /// <summary>Initial weights: index 0.</summary>
    public const ulong InitializationStream = 1;

    /// <summary>The training order of an epoch: index = the epoch (1-based).</summary>
    public const ulong EpochOrderStream = 2;

    private const ulong Golden = 0x9E3779B97F4A7C15UL;

    private ulong state;

    /// <summary>A generator that continues from <paramref name="state"/>.</summary>
    public SeededRandom(ulong state) => this.state = state;

    /// <summary>A generator for one use of a run's seed: stream names the use, index the instance (e.g. the epoch).</summary>
    public static SeededRandom For(int seed, ulong stream, long index) => new(StreamState(seed, stream, index));

    /// <summary>The starting state of (seed, stream, index): the three chained through the SplitMix64 finaliser.</summary>
    public static ulong StreamState(int seed, ulong stream, long index)
        => Finalise(Finalise(Finalise((uint)seed ^ Golden) ^ stream) ^ (ulong)index);

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        state += Golden;
        return Finalise(state);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, <paramref name="bound"/>); the modulo bias is below bound / 2⁶⁴, far under 10⁻⁹ for any array.</summary>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        return (int)(NextUInt64() % (ulong)bound);
    }

    /// <summary>Fisher–Yates, from the last element down.</summary>
    public void Shuffle(Span<int> values)
    {
        for (var i = values.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    private static ulong Finalise(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
