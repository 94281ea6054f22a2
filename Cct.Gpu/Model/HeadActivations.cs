using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// The head's activations: the final norm (official), the sequence-pooling weights (B, T) (SeqPool), the pooled
/// tokens (B, C), logits and probabilities (B, K), per-sample losses (B) and their mean (1).
/// </summary>
internal sealed record HeadActivations(LayerNormActivations? Norm, ArrayView<float>? PoolingWeights, ArrayView<float> Pooled, ArrayView<float> Logits, ArrayView<float> Probabilities, ArrayView<float> Losses, ArrayView<float> Loss)
{
    public HeadActivations(TensorArena<float> arena, HeadSpec s)
        : this(
            s.Norm is null ? null : new LayerNormActivations(arena, s.Tokens, s.Dim),
            s.AttentionPool is null ? null : arena.PerSample(s.Tokens),
            arena.PerSample(s.Dim),
            arena.PerSample(s.Classes),
            arena.PerSample(s.Classes),
            arena.PerSample(1),
            arena.Fixed(1))
    {
    }
}
