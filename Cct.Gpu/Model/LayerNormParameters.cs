using Cct.Gpu.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Gpu.Model;

/// <summary>A LayerNorm's weight and bias (C).</summary>
internal sealed record LayerNormParameters(ParameterViews Weight, ParameterViews Bias)
{
    public static LayerNormParameters Of(ParameterSet parameters, LayerNormSpec spec)
        => new(ParameterViews.Of(parameters, spec.Weight), ParameterViews.Of(parameters, spec.Bias));
}
