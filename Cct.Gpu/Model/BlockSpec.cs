namespace Cct.Gpu.Model;

/// <summary>
/// Transformer block <see cref="Index"/> ("classifier.blocks.{j}") on (B, T, C) tokens, in either <see cref="BlockLayout"/>:
/// official (<see cref="PreNorm"/> set, GELU MLP) or post-norm (<see cref="Norm2"/> set, ReLU MLP). Attention dropout and
/// the drop-path rate (stochastic depth, rising linearly over the blocks) apply while training.
/// </summary>
internal sealed record BlockSpec(
    int Index,
    BlockLayout Layout,
    int Tokens,
    int Dim,
    int Heads,
    int Hidden,
    float AttentionDropout,
    float DropPathRate,
    LayerNormSpec? PreNorm,
    LinearSpec Qkv,
    LinearSpec Proj,
    LinearSpec Linear1,
    LayerNormSpec Norm1,
    LinearSpec Linear2,
    LayerNormSpec? Norm2) : ModuleSpec
{
    /// <summary>The official code registers norm1 after linear1, so the state_dict lists it there.</summary>
    public override IEnumerable<TensorSpec> Parameters
        => (PreNorm?.Parameters ?? []).Concat(Qkv.Parameters).Concat(Proj.Parameters).Concat(Linear1.Parameters)
            .Concat(Norm1.Parameters).Concat(Linear2.Parameters).Concat(Norm2?.Parameters ?? []);

    /// <inheritdoc/>
    public override IEnumerable<SummaryRow> SummaryRows
    {
        get
        {
            var kind = Layout == BlockLayout.Official ? "pre-norm, GELU" : "post-norm, ReLU";
            return [new($"classifier.blocks.{Index} ({Heads} heads, mlp {Hidden}, {kind})", Shape(Tokens, Dim), Parameters.Sum(p => p.Length))];
        }
    }
}
