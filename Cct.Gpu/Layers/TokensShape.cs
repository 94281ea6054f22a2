namespace Cct.Gpu.Layers;

/// <summary>Dimensions of the feature map to token sequence step: Tokens = H·W.</summary>
internal readonly record struct TokensShape(int Batch, int Channels, int Tokens)
{
    public long Elements => (long)Batch * Channels * Tokens;
}
