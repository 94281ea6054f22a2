using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>
/// What a normalisation's forward saves for its backward: mean and rstd = 1/√(biased variance + eps), one per
/// normalised group (LayerNorm: a row, (rows) each; BatchNorm2d: a channel, (C) each).
/// </summary>
internal readonly record struct NormStatistics(ArrayView<float> Mean, ArrayView<float> Rstd);
