using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>The gradient of input + drop_path(branch): dinput += gradient, dbranch += gradient through the mask.</summary>
internal readonly struct ResidualGradients : IInputGradientTarget
{
    public void Add(long i, float gradient, ArrayView<float> dinput, ArrayView<float> dbranch, DropPathMask mask)
    {
        dinput[i] += gradient;
        dbranch[i] += mask.Apply(i, gradient);
    }
}
