using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>Where the GPU row kernels' extra groups put LayerNorm's parameter sums (items = chunks x C): as ParameterBackwardKernel does.</summary>
internal readonly record struct ParameterSums(ArrayView<float> Partials, ArrayView<float> Dweight, ArrayView<float> Dbias, int Items, int Chunks);
