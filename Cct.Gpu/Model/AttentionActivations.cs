using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>What attention keeps: qkv (B, T, 3C), probabilities (B, H, T, T), the heads' mix (B, T, C), and its output (B, T, C) in <see cref="Scratch.Branch"/>.</summary>
internal sealed record AttentionActivations(ArrayView<float> Qkv, ArrayView<float> Probabilities, ArrayView<float> Mixed, ArrayView<float> Output)
{
    public AttentionActivations(TensorArena<float> arena, Scratch scratch, BlockSpec s)
        : this(arena.PerSample(s.Tokens, 3 * s.Dim), arena.PerSample(s.Heads, s.Tokens, s.Tokens), arena.PerSample(s.Tokens, s.Dim), scratch.Branch)
    {
    }
}
