using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>
/// Where <see cref="Conv2d.Backward"/> accumulates (+=): dinput (B, Cin, H, W) and dweight (Cout, Cin, K, K). A record,
/// so that swapping them, or passing a value where a gradient goes, is a compile error.
/// </summary>
internal readonly record struct Conv2dGradients(ArrayView<float> Input, ArrayView<float> Weight);
