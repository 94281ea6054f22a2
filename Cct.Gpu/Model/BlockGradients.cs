using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// Gradients of a block's intermediates, each (B, T, C) but the parts' own. One set serves every block: a block needs
/// them only while its backward runs, so the model zeroes them before each block (one memset, as they are laid out
/// together). Only a block's output gradient is its own, since the next block down reads it.
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
