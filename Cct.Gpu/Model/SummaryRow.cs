namespace Cct.Gpu.Model;

/// <summary>One row of a model summary: a layer, its output shape for one image, its parameter count.</summary>
public sealed record SummaryRow(string Layer, string Shape, long Parameters);
