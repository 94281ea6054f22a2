using Cct.Gpu.Runtime;

namespace Cct.Gpu.Gemm;

/// <summary>
/// A <see cref="GemmDropout"/> with its key's <see cref="RngKey.Prefix"/> computed, the step read from device memory where
/// the key keeps it there: what a kernel that drops many elements in a loop holds, so the loop draws each with two hash
/// rounds and no load. Built on the device, once a group (<see cref="GemmDropout.Resolved"/>).
/// </summary>
internal readonly record struct ResolvedDropout(float Probability, uint Prefix)
{
    /// <summary>As <see cref="GemmDropout.Apply"/>, bit for bit.</summary>
    public float Apply(long i, float value)
        => Probability == 0f ? value : RngKey.Uniform(Prefix, i) >= Probability ? value * (1f / (1f - Probability)) : 0f;
}
