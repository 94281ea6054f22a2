using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// Gradients of the activations, for one batch size B. Every one is (B, ...) and they are packed for B: a batch of B
/// lays them out back to back in the buffer's first B / MaxBatch, so the memsets clear what a step uses, not
/// MaxBatch's worth (a smaller last batch clears less). Statistics, probabilities and scratch have none. The blocks'
/// intermediates share one <see cref="BlockGradients"/>, laid out last so that <see cref="Shared"/> is one range.
/// </summary>
/// <param name="Tokenizer">each conv stage's gradients</param>
/// <param name="Tokens">(B, T, C) the token embedding's output gradient</param>
/// <param name="BlockOutputs">(B, T, C) each block's output gradient, one per block</param>
/// <param name="Head">the classifier head's gradients</param>
/// <param name="Blocks">the block intermediates' gradients, shared by every block</param>
/// <param name="All">every gradient of the batch, zeroed before a backward pass</param>
/// <param name="Shared">the blocks' shared gradients, zeroed before each block but the first to run</param>
internal sealed record ModelGradients(
    IReadOnlyList<ConvStageGradients> Tokenizer,
    ArrayView<float> Tokens,
    IReadOnlyList<ArrayView<float>> BlockOutputs,
    HeadGradients Head,
    BlockGradients Blocks,
    ArrayView<float> All,
    ArrayView<float> Shared)
{
    /// <summary>Points the records into <paramref name="arena"/> for its batch (or only measures them).</summary>
    public static ModelGradients Create(TensorArena<float> arena, CctArchitecture architecture)
    {
        var (t, d) = (architecture.Tokens.Tokens, architecture.Tokens.Dim);
        var tokenizer = architecture.Tokenizer.Select(s => ConvStageGradients.Create(arena, s)).ToList();
        var tokens = arena.PerSample(t, d);
        var blockOutputs = architecture.Blocks.Select(_ => arena.PerSample(t, d)).ToList();
        var head = new HeadGradients(arena, architecture.Head);
        var sharedStart = arena.Length;
        var blocks = new BlockGradients(arena, architecture.Blocks[0]);
        return new(tokenizer, tokens, blockOutputs, head, blocks, arena.Since(0), arena.Since(sharedStart));
    }
}
