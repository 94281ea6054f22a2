using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>Gradients of the hidden layer and its activation (B, T, H) and of the output (B, T, C).</summary>
internal sealed record MlpGradients(ArrayView<float> Hidden, ArrayView<float> Activated, ArrayView<float> Output)
{
    public MlpGradients(TensorArena<float> arena, BlockSpec s)
        : this(arena.PerSample(s.Tokens, s.Hidden), arena.PerSample(s.Tokens, s.Hidden), arena.PerSample(s.Tokens, s.Dim))
    {
    }
}
