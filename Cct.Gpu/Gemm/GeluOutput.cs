using ILGPU;
using Cct.Gpu.Layers;

namespace Cct.Gpu.Gemm;

/// <summary>Activated[i] = gelu(value), as <see cref="Gelu.Forward"/> computes it.</summary>
internal readonly struct GeluOutput(ArrayView<float> activated) : IGemmOutput
{
    public bool ReadsBack => true;

    public void Stored(long i, float value) => activated[i] = Gelu.Apply(value);
}
