using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>
/// Where attention's backward writes, with the shapes of <see cref="AttentionTensors"/>: dqkv (B, T, 3C) accumulates
/// (+=); dprobabilities (B, H, T, T) is scratch, overwritten and left holding the gradient of the pre-softmax scores.
/// </summary>
internal readonly record struct AttentionTensorGradients(ArrayView<float> Qkv, ArrayView<float> Probabilities);
