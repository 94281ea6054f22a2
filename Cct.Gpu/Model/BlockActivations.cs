using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// A block's activations, each (B, T, C) but the parts' own: the pre-norm (official) or second norm (post-norm), the
/// attention and MLP parts, and the two residual sums.
/// </summary>
internal sealed record BlockActivations(LayerNormActivations? PreNorm, AttentionActivations Attention, ArrayView<float> Residual1, LayerNormActivations Norm1, MlpActivations Mlp, ArrayView<float> Residual2, LayerNormActivations? Norm2)
{
    public BlockActivations(TensorArena<float> arena, Scratch scratch, BlockSpec s, bool fusedAttention)
        : this(
            s.PreNorm is null ? null : new LayerNormActivations(arena, s.Tokens, s.Dim),
            new AttentionActivations(arena, scratch, s, fusedAttention),
            arena.PerSample(s.Tokens, s.Dim),
            new LayerNormActivations(arena, s.Tokens, s.Dim),
            new MlpActivations(arena, scratch, s),
            arena.PerSample(s.Tokens, s.Dim),
            s.Norm2 is null ? null : new LayerNormActivations(arena, s.Tokens, s.Dim))
    {
    }
}
