using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>
/// A layer's learned values, which its forward reads: Linear's weight (Out, In) and bias (Out); LayerNorm's and
/// BatchNorm2d's weight (C) and bias (C). Its own type, so that it cannot be passed where gradients go.
/// </summary>
internal readonly record struct WeightAndBias(ArrayView<float> Weight, ArrayView<float> Bias);
