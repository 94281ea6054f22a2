using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>Where a LayerNorm row kernel puts its input gradient (a struct, so each kernel is specialised at compile time).</summary>
internal interface IInputGradientTarget
{
    void Add(long i, float gradient, ArrayView<float> dinput, ArrayView<float> dbranch, DropPathMask mask);
}
