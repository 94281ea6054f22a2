using Cct.Gpu.Runtime;

namespace Cct.Gpu.Gemm;

/// <summary>
/// Inverted dropout applied to A as it is read (attention's probabilities): element at flat index i of the A
/// view is kept when Key.Uniform(i) ≥ Probability and scaled by 1 / (1 − Probability); 0 reads A as is.
/// </summary>
internal readonly record struct GemmDropout(float Probability, RngKey Key)
{
    /// <summary>The dropout with its key's prefix computed, for a kernel to hold through its loops (<see cref="ResolvedDropout"/>).</summary>
    public ResolvedDropout Resolved() => new(Probability, Key.Prefix());

    public float Apply(long i, float value)
        => Probability == 0f ? value : Key.Uniform(i) >= Probability ? value * (1f / (1f - Probability)) : 0f;
}
