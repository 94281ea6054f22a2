using Cct.Gpu.Layers;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// Activations that share memory because the backward pass never reads them: a block's branch output before its
/// residual (attention's projection, the MLP's second linear), and what a pooled conv stage feeds its max-pool (whose
/// backward needs only its argmax and output): the conv or BatchNorm output where the stage pools before its ReLU
/// (<see cref="ConvStageSpec.PoolsBeforeRelu"/>), else its ReLU and dropout outputs. Each is sized for its largest user,
/// and all of them are taken from <c>forwardOnly</c>, which the model points into its activation gradients' buffer: the
/// forward pass writes no gradient, and the backward pass reads none of these. Also attention backward's scratch, which
/// every block overwrites: dprobabilities (B, H, T, T), or with fused attention the row dots doutput·output (B, H, T)
/// and the score gradients (B, H, T, T) (<see cref="FlashAttention.ScratchLength"/>), from the activation arena (it is live while gradients are). Gradients share memory by liveness (<see cref="ModelGradients"/>).
/// </summary>
internal sealed record Scratch(ArrayView<float> Branch, ArrayView<float> PrePool, ArrayView<float> DroppedPrePool, ArrayView<float> AttentionBackward)
{
    public Scratch(TensorArena<float> forwardOnly, TensorArena<float> arena, CctArchitecture architecture, bool fusedAttention)
        : this(
            forwardOnly.PerSample(architecture.Tokens.Tokens, architecture.Tokens.Dim), // (B, T, C)
            forwardOnly.PerSample(PrePoolSize(architecture, dropout: false)), // (B, Cout·H·W) of the largest pooled stage
            PrePoolSize(architecture, dropout: true) is > 0 and var dropped ? forwardOnly.PerSample(dropped) : default,
            fusedAttention
                ? arena.PerSample(architecture.Config.Heads, architecture.Tokens.Tokens, architecture.Tokens.Tokens + 1) // (B, H, T) and (B, H, T, T)
                : arena.PerSample(architecture.Config.Heads, architecture.Tokens.Tokens, architecture.Tokens.Tokens)) // (B, H, T, T)
    {
    }

    private static int PrePoolSize(CctArchitecture architecture, bool dropout)
        => architecture.Tokenizer.Where(s => s.Pool is not null && (!dropout || s.DropoutRate > 0)).Select(s => s.ConvOutputSize).DefaultIfEmpty(0).Max();
}
