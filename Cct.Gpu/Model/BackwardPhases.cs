namespace Cct.Gpu.Model;

/// <summary>
/// The phases of a backward pass, in the order they run: the loss and the head (0), each block from the last to the
/// first, the token embedding, then each conv stage from the last to the first. An activation gradient is live from
/// the phase that first writes it to the phase that last reads it (<see cref="ModelGradients"/>).
/// </summary>
/// <param name="Blocks">transformer blocks</param>
/// <param name="Stages">tokenizer conv stages</param>
internal readonly record struct BackwardPhases(int Blocks, int Stages)
{
    /// <summary>The cross-entropy's logits gradient and the head's backward.</summary>
    public const int Loss = 0;

    /// <summary>Block <paramref name="j"/>'s backward.</summary>
    public int Block(int j) => Blocks - j;

    /// <summary>The token embedding's backward.</summary>
    public int Tokens => Blocks + 1;

    /// <summary>Conv stage <paramref name="i"/>'s backward.</summary>
    public int Stage(int i) => Blocks + 2 + (Stages - 1 - i);

    /// <summary>Phases in all.</summary>
    public int Count => Blocks + 2 + Stages;
}
