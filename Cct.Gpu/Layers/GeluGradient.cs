using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>doutput += dactivation · gelu'(preactivation), as <see cref="Gelu.Backward"/> does, written back and returned.</summary>
internal readonly struct GeluGradient : IOutputGradient
{
    public float At(long i, ArrayView<float> doutput, ArrayView<float> dactivation, ArrayView<float> preactivation)
    {
        var d = doutput[i] + (dactivation[i] * Gelu.Derivative(preactivation[i]));
        doutput[i] = d;
        return d;
    }
}
