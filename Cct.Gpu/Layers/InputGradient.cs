using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>dinput += gradient.</summary>
internal readonly struct InputGradient : IInputGradientTarget
{
    public void Add(long i, float gradient, ArrayView<float> dinput, ArrayView<float> dbranch, DropPathMask mask) => dinput[i] += gradient;
}
