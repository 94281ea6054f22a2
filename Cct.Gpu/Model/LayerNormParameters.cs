using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Model;

/// <summary>A LayerNorm's weight and bias (C).</summary>
internal sealed record LayerNormParameters(ParameterViews Weight, ParameterViews Bias)
{
    /// <summary>The values the forward reads: weight (C) and bias (C).</summary>
    public WeightAndBias Values => new(Weight.Value, Bias.Value);

    /// <summary>The gradients the backward accumulates into, shaped as <see cref="Values"/>.</summary>
    public WeightAndBiasGradients Gradients => new(Weight.Gradient, Bias.Gradient);

    public static LayerNormParameters Of(ParameterSet parameters, LayerNormSpec spec)
        => new(ParameterViews.Of(parameters, spec.Weight), ParameterViews.Of(parameters, spec.Bias));
}
