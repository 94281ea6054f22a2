using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// Drop-path of a (B, PerSample) tensor as a kernel argument, for kernels that apply it on the way (a residual, a
/// LayerNorm after one): element i takes sample i / PerSample's mask and scale, as <see cref="DropPath"/> draws them.
/// </summary>
internal readonly record struct DropPathMask(int PerSample, float Probability, float Scale, RngKey Key)
{
    /// <summary>The mask drawn from <paramref name="key"/> with drop probability <paramref name="probability"/>; 0 keeps everything.</summary>
    public static DropPathMask For(int perSample, float probability, RngKey key) => new(perSample, probability, Dropout.Scale(probability), key);

    /// <summary>Element <paramref name="i"/> through its sample's mask.</summary>
    public float Apply(long i, float value) => DropPath.Apply(i, value, PerSample, Probability, Scale, Key);
}
