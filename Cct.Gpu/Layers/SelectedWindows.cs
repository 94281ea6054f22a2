using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>
/// <see cref="MaxPool2d"/>'s backward: output (oh, ow) of the plane at <c>OutPlane</c> passes its gradient to input
/// element <c>Element</c> only if its window selected that element (argmax).
/// </summary>
internal readonly record struct SelectedWindows(ArrayView<float> Doutput, ArrayView<int> Argmax, int OutPlane, int Element, int OutWidth) : ITapReader
{
    public float Read(int kh, int kw, int oh, int ow)
    {
        var o = OutPlane + (oh * OutWidth) + ow;
        return Argmax[o] == Element ? Doutput[o] : 0f;
    }
}
