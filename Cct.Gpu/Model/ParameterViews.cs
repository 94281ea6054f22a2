using Cct.Gpu.Runtime;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>A parameter's values and gradient, views into <see cref="ParameterSet"/>'s flat buffers.</summary>
internal readonly record struct ParameterViews(ArrayView<float> Value, ArrayView<float> Gradient)
{
    public static ParameterViews Of(ParameterSet parameters, TensorSpec spec) => new(parameters.Value(spec.Name), parameters.Gradient(spec.Name));
}

