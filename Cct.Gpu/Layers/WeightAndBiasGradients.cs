using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>
/// Where a layer's backward accumulates (+=) the gradients of its <see cref="WeightAndBias"/>, with the same shapes:
/// dweight and dbias. A record, so that a dweight/dbias swap or a gradient passed as a value is a compile error.
/// </summary>
internal readonly record struct WeightAndBiasGradients(ArrayView<float> Weight, ArrayView<float> Bias);
