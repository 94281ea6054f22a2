using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Model;

/// <summary>
/// A linear layer's weight (Out, In) and bias (Out). Without a bias the kernels ignore the bias views (hasBias false);
/// the weight's views stand in for them.
/// </summary>
internal sealed record LinearParameters(LinearSpec Spec, ParameterViews Weight, ParameterViews Bias)
{
    /// <summary>The values the forward reads: weight (Out, In) and bias (Out).</summary>
    public WeightAndBias Values => new(Weight.Value, Bias.Value);

    /// <summary>The gradients the backward accumulates into, shaped as <see cref="Values"/>.</summary>
    public WeightAndBiasGradients Gradients => new(Weight.Gradient, Bias.Gradient);

    public static LinearParameters Of(ParameterSet parameters, LinearSpec spec)
    {
        var weight = ParameterViews.Of(parameters, spec.Weight);
        return new(spec, weight, spec.Bias is { } bias ? ParameterViews.Of(parameters, bias) : weight);
    }
}
