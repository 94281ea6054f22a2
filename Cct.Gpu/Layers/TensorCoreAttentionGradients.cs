namespace Cct.Gpu.Layers;

/// <summary>
/// One launch of <see cref="TensorCoreFlashAttention"/>'s key-major backward: the device addresses (bytes) of dqkv and of
/// the (B, H, T, T) score-gradient scratch, which its inline PTX accumulates and stores to, the score scale and the scale
/// times log2(e), and dropout's least kept 24-bit draw (ceil(p · 2^24)) and scale 1 / (1 − p).
/// </summary>
internal readonly record struct TensorCoreAttentionGradients(long Dqkv, long ScoreGradients, float Scale, float ScaleLog2, uint Threshold, float KeepScale);
