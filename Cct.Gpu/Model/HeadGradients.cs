using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>Gradients of the final norm's output (B, T, C), the pooled tokens (B, C) and the logits (B, K).</summary>
internal sealed record HeadGradients(ArrayView<float>? Norm, ArrayView<float> Pooled, ArrayView<float> Logits)
{
    public HeadGradients(TensorArena<float> arena, HeadSpec s)
        : this(s.Norm is null ? null : arena.PerSample(s.Tokens, s.Dim), arena.PerSample(s.Dim), arena.PerSample(s.Classes))
    {
    }
}
