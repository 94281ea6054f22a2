namespace Cct.Gpu.Layers;

/// <summary>
/// One launch of <see cref="TensorCoreFlashAttention"/>: the device addresses (bytes) of the output and the log-sum-exps,
/// which its inline PTX stores to, the score scale times log2(e) (its exponentials are base 2), and dropout's least kept
/// 24-bit draw (ceil(p · 2^24)) and scale 1 / (1 − p).
/// </summary>
internal readonly record struct TensorCoreAttentionProblem(long Output, long LogSumExp, float ScaleLog2, uint Threshold, float KeepScale);
