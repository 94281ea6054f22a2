using ILGPU;

namespace Cct.Gpu.Reductions;

/// <summary>One column sum for <c>PartialSums.AddInto</c>: target (columns) += Σ over chunks of partials (chunks, columns).</summary>
internal readonly record struct PartialSum(ArrayView<float> Target, ArrayView<float> Partials, int Columns);
