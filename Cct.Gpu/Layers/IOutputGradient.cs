using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>
/// How a Linear's bias kernel reads its output gradient at element i (a struct, so each kernel is specialised at
/// compile time): as given, or formed from the gradient of the activation that follows the Linear.
/// </summary>
internal interface IOutputGradient
{
    float At(long i, ArrayView<float> doutput, ArrayView<float> dactivation, ArrayView<float> preactivation);
}
