namespace Cct.Gpu.Layers;

/// <summary>Dimensions of multi-head self-attention: batch B, tokens T, channels C split into H heads of HeadSize hs.</summary>
internal readonly record struct AttentionShape(int Batch, int Tokens, int Channels, int Heads)
{
    public int HeadSize => Channels / Heads;
}
