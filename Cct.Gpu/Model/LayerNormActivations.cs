using Cct.Gpu.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Gpu.Model;

/// <summary>What a LayerNorm keeps for its backward: its output (B, T, C) and per-row mean and 1/std (B, T).</summary>
internal sealed record LayerNormActivations(ArrayView<float> Output, ArrayView<float> Mean, ArrayView<float> Rstd)
{
    public LayerNormActivations(TensorArena<float> arena, int tokens, int dim)
        : this(arena.PerSample(tokens, dim), arena.PerSample(tokens), arena.PerSample(tokens))
    {
    }
}
