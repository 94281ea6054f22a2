using Cct.Gpu.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Gpu.Model;

/// <summary>
/// A linear layer's weight (Out, In) and bias (Out). Without a bias the kernels ignore the bias views (hasBias false);
/// the weight's views stand in for them.
/// </summary>
internal sealed record LinearParameters(LinearSpec Spec, ParameterViews Weight, ParameterViews Bias)
{
    public static LinearParameters Of(ParameterSet parameters, LinearSpec spec)
    {
        var weight = ParameterViews.Of(parameters, spec.Weight);
        return new(spec, weight, spec.Bias is { } bias ? ParameterViews.Of(parameters, bias) : weight);
    }
}
