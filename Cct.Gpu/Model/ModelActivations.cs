using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// Every module's activation record, pointed into the model's activation buffer (sized for MaxBatch) and argmax buffer,
/// and the forward pass's scratch into the activation gradients' buffer (<see cref="Scratch"/>).
/// </summary>
internal sealed record ModelActivations(Scratch Scratch, IReadOnlyList<ConvStageActivations> Tokenizer, ArrayView<float> Tokens, IReadOnlyList<BlockActivations> Blocks, HeadActivations Head)
{
    /// <summary>
    /// Points the records into <paramref name="arena"/>, <paramref name="argmax"/> and <paramref name="forwardScratch"/> (or only
    /// measures them); with <paramref name="fusedAttention"/> the blocks keep attention's log-sum-exp instead of its probabilities.
    /// </summary>
    public static ModelActivations Create(TensorArena<float> arena, TensorArena<int> argmax, TensorArena<float> forwardScratch, CctArchitecture architecture, bool fusedAttention)
    {
        var scratch = new Scratch(forwardScratch, arena, architecture, fusedAttention);
        return new(
            scratch,
            architecture.Tokenizer.Select(s => ConvStageActivations.Create(arena, argmax, scratch, s)).ToList(),
            arena.PerSample(architecture.Tokens.Tokens, architecture.Tokens.Dim), // (B, T, C)
            architecture.Blocks.Select(s => new BlockActivations(arena, scratch, s, fusedAttention)).ToList(),
            new HeadActivations(arena, architecture.Head));
    }
}
