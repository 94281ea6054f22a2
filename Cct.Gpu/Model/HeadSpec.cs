namespace Cct.Gpu.Model;

/// <summary>
/// The classifier head on the last block's tokens (B, T, C): the official final LayerNorm (<see cref="Norm"/>), then
/// sequence pooling (<see cref="AttentionPool"/>, Linear(C, 1) scores) or the mean over tokens, then the linear classifier.
/// </summary>
internal sealed record HeadSpec(int Tokens, int Dim, int Classes, LayerNormSpec? Norm, PoolingKind Pooling, LinearSpec? AttentionPool, LinearSpec Fc) : ModuleSpec
{
    /// <summary>In forward order; <see cref="CctArchitecture.Parameters"/> places them in state_dict order.</summary>
    public override IEnumerable<TensorSpec> Parameters
        => (Norm?.Parameters ?? []).Concat(AttentionPool?.Parameters ?? []).Concat(Fc.Parameters);

    /// <inheritdoc/>
    public override IEnumerable<SummaryRow> SummaryRows
    {
        get
        {
            if (Norm is not null)
            {
                yield return new("classifier.norm LayerNorm", Shape(Tokens, Dim), Norm.Parameters.Sum(p => p.Length));
            }

            yield return AttentionPool is not null
                ? new("classifier.attention_pool SeqPool", Shape(Dim), AttentionPool.Parameters.Sum(p => p.Length))
                : new("mean pool", Shape(Dim), 0);
            yield return new("classifier.fc Linear", Shape(Classes), Fc.Parameters.Sum(p => p.Length));
        }
    }
}
