using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>
/// <see cref="MaxPool2d"/>'s backward: output (oh, ow) of the plane at <c>OutPlane</c> passes its gradient to input
/// element <c>Element</c> only if its window selected that element (argmax) and the pool's activation passes it
/// (<see cref="IPoolActivation.Passes"/>, which reads <c>Output</c>, the pooled outputs).
/// </summary>
internal readonly record struct SelectedWindows<TActivation>(ArrayView<float> Doutput, ArrayView<int> Argmax, ArrayView<float> Output, int OutPlane, int Element, int OutWidth) : ITapReader
    where TActivation : struct, IPoolActivation
{
    public float Read(int kh, int kw, int oh, int ow)
    {
        var o = OutPlane + (oh * OutWidth) + ow;
        return Argmax[o] == Element && default(TActivation).Passes(Output, o) ? Doutput[o] : 0f;
    }
}
