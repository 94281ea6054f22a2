using ILGPU;

namespace Cct.Gpu.Gemm;

/// <summary>One product of a grouped launch: the blocked kernel's arguments and its share of the flat grid.</summary>
internal readonly record struct GemmProblem<TA, TB>(ArrayView<float> C, ArrayView<float> Partials, ArrayView<float> Bias, TA A, TB B, GemmShape Shape, GemmLayout Layout, int KPerSplit, int Parts, int BlocksX, int BlocksY)
    where TA : struct, IGemmOperand
    where TB : struct, IGemmOperand
{
    /// <summary>Groups of the flat grid it takes: tiles x products x parts of K (none for an empty product).</summary>
    public int Groups => Shape.M <= 0 || Shape.N <= 0 ? 0 : BlocksX * BlocksY * Layout.Count * Parts;
}
