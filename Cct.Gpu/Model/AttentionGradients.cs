using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>Gradients of qkv (B, T, 3C), the mix (B, T, C) and the output (B, T, C).</summary>
internal sealed record AttentionGradients(ArrayView<float> Qkv, ArrayView<float> Mixed, ArrayView<float> Output)
{
    public AttentionGradients(TensorArena<float> arena, BlockSpec s)
        : this(arena.PerSample(s.Tokens, 3 * s.Dim), arena.PerSample(s.Tokens, s.Dim), arena.PerSample(s.Tokens, s.Dim))
    {
    }
}
