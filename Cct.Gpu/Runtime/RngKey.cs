using ILGPU;

namespace Cct.Gpu.Runtime;

/// <summary>
/// Counter-based random numbers: a value is a pure hash of (seed, stream, step, index), so kernels
/// need no RNG state, backward can recompute forward's masks, and a resumed run draws the same numbers.
/// Stream separates call sites (e.g. one per dropout layer) within a step.
/// </summary>
internal readonly record struct RngKey(uint Seed, uint Stream, uint Step)
{
    /// <summary>
    /// When set (one element), the step is read from it on the device instead of <see cref="Step"/>: a replayed CUDA graph
    /// keeps the arguments it was captured with, so a model that replays its step keeps the step number in device memory
    /// (<see cref="Model.StepValues"/>).
    /// </summary>
    public ArrayView<uint> StepCell { get; init; }

    /// <summary>
    /// The hash of (seed, stream, step) that every draw of the key starts from, with the step read from
    /// <see cref="StepCell"/> when set: a kernel that draws in a loop computes it once (<see cref="Gemm.ResolvedDropout"/>),
    /// so the loop holds neither the step's load nor these three rounds.
    /// </summary>
    public uint Prefix()
    {
        var h = Mix(Seed ^ 0x9E3779B9u);
        h = Mix(h ^ Stream ^ 0x85EBCA6Bu);
        return Mix(h ^ (StepCell.Length > 0 ? StepCell[0] : Step) ^ 0xC2B2AE35u);
    }

    /// <summary>Uniform in [0, 1) with 24 random bits, for element <paramref name="index"/>.</summary>
    public float Uniform(long index) => Uniform(Prefix(), index);

    /// <summary>Uniform in [0, 1) for element <paramref name="index"/> of the key whose <see cref="Prefix"/> is <paramref name="prefix"/>.</summary>
    public static float Uniform(uint prefix, long index)
    {
        var h = Mix(prefix ^ (uint)index);
        h = Mix(h ^ (uint)(index >> 32) ^ 0x27D4EB2Fu);
        // Through int, not uint: uint → float compiles to a conversion through double (cvt.rn.f64.u32) on GPUs;
        // the value (< 2^24) is the same either way.
        return (int)(h >> 8) * (1f / 16777216f);
    }

    // The murmur3 finaliser: a bijective avalanche on 32 bits.
    private static uint Mix(uint x)
    {
        x ^= x >> 16;
        x *= 0x85EBCA6Bu;
        x ^= x >> 13;
        x *= 0xC2B2AE35u;
        x ^= x >> 16;
        return x;
    }
}
