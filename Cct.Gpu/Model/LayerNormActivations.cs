using Cct.Gpu.Layers;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>What a LayerNorm keeps for its backward: its output (B, T, C) and per-row mean and 1/std (B, T).</summary>
internal sealed record LayerNormActivations(ArrayView<float> Output, ArrayView<float> Mean, ArrayView<float> Rstd)
{
    /// <summary>The saved mean (B, T) and rstd (B, T), as the LayerNorm kernels take them.</summary>
    public NormStatistics Statistics => new(Mean, Rstd);

    public LayerNormActivations(TensorArena<float> arena, int tokens, int dim)
        : this(arena.PerSample(tokens, dim), arena.PerSample(tokens), arena.PerSample(tokens))
    {
    }
}
