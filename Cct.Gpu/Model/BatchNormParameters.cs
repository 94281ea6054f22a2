using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>BatchNorm2d's weight and bias (Cout), and its running statistics (Cout), views into the model's buffers.</summary>
internal sealed record BatchNormParameters(ParameterViews Weight, ParameterViews Bias, ArrayView<float> RunningMean, ArrayView<float> RunningVar);
