using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>A plain max-pool: the window maximum, and every selected element gets its window's gradient.</summary>
internal readonly struct PoolIdentity : IPoolActivation
{
    public float Apply(float maximum) => maximum;

    public bool Passes(ArrayView<float> output, int o) => true;
}
