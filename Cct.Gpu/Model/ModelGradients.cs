using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// Gradients of the activations, for one batch size B, laid out by liveness (<see cref="LifetimePlan"/>): each lives
/// from the backward phase that first writes it to the one that last reads it (<see cref="BackwardPhases"/>), and
/// gradients never live at once share memory. A block's intermediates live only while it runs, its output gradient
/// from the block above (or the head) to itself; a conv stage's intermediates while it runs, its output gradient from
/// the stage above (or the token embedding). So the buffer holds about the most that one phase needs, not the sum:
/// cct-2/3x2 75,402 values an image where the consecutive layout (blocks' intermediates shared, the rest one each)
/// took 257,290, cct-7/3x1 702,730 where it took 1,505,546, each within 0.2 % of its busiest phase (LifetimePlanTests). Backward accumulates, so each phase first zeroes what is born in it (<see cref="BornIn"/>).
/// Every gradient is (B, ...): the layout for B is the per-sample layout scaled by B, so a smaller batch clears less.
/// Statistics, probabilities and scratch have none.
/// </summary>
/// <param name="Tokenizer">each conv stage's gradients</param>
/// <param name="Tokens">(B, T, C) the token embedding's output gradient</param>
/// <param name="BlockOutputs">(B, T, C) each block's output gradient, one per block</param>
/// <param name="Head">the classifier head's gradients</param>
/// <param name="Blocks">each block's intermediates' gradients</param>
/// <param name="BornIn">per phase, the views to zero before it runs (adjacent gradients merged into one view)</param>
internal sealed record ModelGradients(
    IReadOnlyList<ConvStageGradients> Tokenizer,
    ArrayView<float> Tokens,
    IReadOnlyList<ArrayView<float>> BlockOutputs,
    HeadGradients Head,
    IReadOnlyList<BlockGradients> Blocks,
    IReadOnlyList<IReadOnlyList<ArrayView<float>>> BornIn)
{
    /// <summary>The laid-out lifetimes of <paramref name="architecture"/>'s gradients, in values per sample.</summary>
    public static LifetimePlan Plan(CctArchitecture architecture)
    {
        var plan = new LifetimePlan();
        Point(TensorArena<float>.Planned(plan, default, 1), architecture);
        plan.Lay();
        return plan;
    }

    /// <summary>Points the records into <paramref name="buffer"/> for a batch of <paramref name="batch"/>, as <paramref name="plan"/> (from <see cref="Plan"/>) lays them out.</summary>
    public static ModelGradients Create(LifetimePlan plan, ArrayView<float> buffer, int batch, CctArchitecture architecture)
    {
        var (tokenizer, tokens, blockOutputs, head, blocks) = Point(TensorArena<float>.Planned(plan, buffer, batch), architecture);
        var phases = Phases(architecture);
        var bornIn = Enumerable.Range(0, phases.Count)
            .Select(p => (IReadOnlyList<ArrayView<float>>)plan.Births(p).Select(r => buffer.SubView(r.Offset * batch, r.Length * batch)).ToList())
            .ToList();
        return new(tokenizer, tokens, blockOutputs, head, blocks, bornIn);
    }

    /// <summary>The backward phases of <paramref name="architecture"/>.</summary>
    public static BackwardPhases Phases(CctArchitecture architecture) => new(architecture.Blocks.Count, architecture.Tokenizer.Count);

    // The requests in one fixed order: measuring and pointing must ask for the same tensors in turn.
    private static (List<ConvStageGradients>, ArrayView<float>, List<ArrayView<float>>, HeadGradients, List<BlockGradients>) Point(TensorArena<float> arena, CctArchitecture architecture)
    {
        var phases = Phases(architecture);
        var (t, d) = (architecture.Tokens.Tokens, architecture.Tokens.Dim);
        var n = architecture.Blocks.Count;
        var head = new HeadGradients(arena.During(BackwardPhases.Loss, BackwardPhases.Loss), architecture.Head);
        var blockOutputs = Enumerable.Range(0, n)
            .Select(j => arena.During(j == n - 1 ? BackwardPhases.Loss : phases.Block(j + 1), phases.Block(j)).PerSample(t, d))
            .ToList();
        var blocks = Enumerable.Range(0, n).Select(j => new BlockGradients(arena.During(phases.Block(j), phases.Block(j)), architecture.Blocks[j])).ToList();
        var tokens = arena.During(phases.Block(0), phases.Tokens).PerSample(t, d);
        var stages = architecture.Tokenizer.Count;
        var tokenizer = architecture.Tokenizer
            .Select((s, i) => ConvStageGradients.Create(arena, s, outputBorn: i == stages - 1 ? phases.Tokens : phases.Stage(i + 1), phase: phases.Stage(i)))
            .ToList();
        return (tokenizer, tokens, blockOutputs, head, blocks);
    }
}
