using Cct.Gpu.Layers;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>BatchNorm2d's weight and bias (Cout), and its running statistics (Cout), views into the model's buffers.</summary>
internal sealed record BatchNormParameters(ParameterViews Weight, ParameterViews Bias, ArrayView<float> RunningMean, ArrayView<float> RunningVar)
{
    /// <summary>The values the forward reads: weight (Cout) and bias (Cout).</summary>
    public WeightAndBias Values => new(Weight.Value, Bias.Value);

    /// <summary>The gradients the backward accumulates into, shaped as <see cref="Values"/>.</summary>
    public WeightAndBiasGradients Gradients => new(Weight.Gradient, Bias.Gradient);
}
