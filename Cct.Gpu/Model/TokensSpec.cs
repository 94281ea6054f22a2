namespace Cct.Gpu.Model;

/// <summary>
/// The tokenizer's (B, C, h, w) output flattened to tokens (B, T, C), plus the positional embedding (1, T, C): a
/// parameter when learnable, a buffer when sine, none otherwise.
/// </summary>
internal sealed record TokensSpec(PositionalEmbeddingKind Kind, int Tokens, int Dim) : ModuleSpec
{
    /// <summary>The positional embedding "classifier.positional_emb" (1, T, C); null with <see cref="PositionalEmbeddingKind.None"/>.</summary>
    public TensorSpec? Embedding => Kind == PositionalEmbeddingKind.None ? null : new("classifier.positional_emb", [1, Tokens, Dim], Kind == PositionalEmbeddingKind.Learnable ? TensorInit.PositionalNormal : TensorInit.SineEmbedding);

    /// <inheritdoc/>
    public override IEnumerable<TensorSpec> Parameters => Kind == PositionalEmbeddingKind.Learnable ? [Embedding!] : [];

    /// <inheritdoc/>
    public override IEnumerable<TensorSpec> Buffers => Kind == PositionalEmbeddingKind.Sine ? [Embedding!] : [];

    /// <inheritdoc/>
    public override IEnumerable<SummaryRow> SummaryRows
        => [new($"tokens + positional embedding ({Kind.ToString().ToLowerInvariant()})", Shape(Tokens, Dim), Parameters.Sum(p => p.Length))];
}
