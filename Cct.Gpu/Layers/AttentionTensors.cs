using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>
/// The tensors attention keeps between its passes: qkv (B, T, 3C), which the forward reads, and the probabilities
/// (B, H, T, T), which the forward writes (before dropout) and the backward reads. A record, so that passing them in
/// the wrong order, or a gradient in their place (<see cref="AttentionTensorGradients"/>), is a compile error.
/// </summary>
internal readonly record struct AttentionTensors(ArrayView<float> Qkv, ArrayView<float> Probabilities);
