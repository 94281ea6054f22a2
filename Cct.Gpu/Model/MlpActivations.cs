using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>What the MLP keeps: the first linear's output and its activation (B, T, H), and the output (B, T, C) in <see cref="Scratch.Branch"/>.</summary>
internal sealed record MlpActivations(ArrayView<float> Hidden, ArrayView<float> Activated, ArrayView<float> Output)
{
    public MlpActivations(TensorArena<float> arena, Scratch scratch, BlockSpec s)
        : this(arena.PerSample(s.Tokens, s.Hidden), arena.PerSample(s.Tokens, s.Hidden), scratch.Branch)
    {
    }
}
