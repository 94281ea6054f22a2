using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>
/// <see cref="UnfoldedConvolution"/>'s fold: tap (kh, kw) of input channel ci at output (oh, ow) is row
/// (ci·k + kh)·k + kw, column oh·wo + ow of the image's dunfolded (Cin·k², Ho·Wo), which starts at <c>Plane</c>.
/// </summary>
internal readonly record struct UnfoldedTaps(ArrayView<float> Dunfolded, long Plane, int Channel, int Kernel, long Positions, int OutWidth) : ITapReader
{
    public float Read(int kh, int kw, int oh, int ow)
        => Dunfolded[Plane + (((((Channel * Kernel) + kh) * Kernel) + kw) * Positions) + (oh * OutWidth) + ow];
}
