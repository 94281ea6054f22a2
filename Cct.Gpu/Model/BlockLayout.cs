namespace Cct.Gpu.Model;

/// <summary>Where LayerNorm sits in a transformer block.</summary>
public enum BlockLayout
{
    /// <summary>Official CCT: x += Attn(LN_pre(x)); x = LN1(x); x += MLP_GELU(x); a final LN before pooling.</summary>
    Official,

    /// <summary>The seed notebook's torch.nn.TransformerEncoderLayer: x = LN1(x + Attn(x)); x = LN2(x + MLP_ReLU(x)); no final LN.</summary>
    PostNorm,
}
