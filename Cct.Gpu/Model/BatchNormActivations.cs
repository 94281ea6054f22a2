using Cct.Gpu.Layers;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>BatchNorm2d's output (B, Cout, H, W) and its batch statistics (Cout), which the backward pass reads.</summary>
internal sealed record BatchNormActivations(ArrayView<float> Output, ArrayView<float> Mean, ArrayView<float> Rstd)
{
    /// <summary>The batch statistics, mean (Cout) and rstd (Cout), as the BatchNorm2d kernels take them.</summary>
    public NormStatistics Statistics => new(Mean, Rstd);
}
