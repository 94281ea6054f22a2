using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// What attention keeps: qkv (B, T, 3C); <see cref="Saved"/>, the softmax's probabilities (B, H, T, T), or with
/// <see cref="Fused"/> attention (FlashAttention) only each query row's log-sum-exp (B, H, T); the heads' mix (B, T, C);
/// and its output (B, T, C) in <see cref="Scratch.Branch"/>.
/// </summary>
internal sealed record AttentionActivations(ArrayView<float> Qkv, ArrayView<float> Saved, ArrayView<float> Mixed, ArrayView<float> Output, bool Fused)
{
    public AttentionActivations(TensorArena<float> arena, Scratch scratch, BlockSpec s, bool fused)
        : this(
            arena.PerSample(s.Tokens, 3 * s.Dim),
            fused ? arena.PerSample(s.Heads, s.Tokens) : arena.PerSample(s.Heads, s.Tokens, s.Tokens),
            arena.PerSample(s.Tokens, s.Dim),
            scratch.Branch,
            fused)
    {
    }
}
