using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// Gradients of a block's intermediates, each (B, T, C) but the parts' own. A block needs them only while its backward
/// runs, so every block's share memory (<see cref="ModelGradients"/>), zeroed before each block. A block's output
/// gradient lives longer, since the block above writes it.
/// </summary>
internal sealed record BlockGradients(ArrayView<float>? PreNorm, AttentionGradients Attention, ArrayView<float> Norm1, MlpGradients Mlp)
{
    public BlockGradients(TensorArena<float> arena, BlockSpec s)
        : this(
            s.PreNorm is null ? null : arena.PerSample(s.Tokens, s.Dim),
            new AttentionGradients(arena, s),
            arena.PerSample(s.Tokens, s.Dim),
            new MlpGradients(arena, s))
    {
    }
}
