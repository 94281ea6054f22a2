namespace Cct.Bench;

/// <summary>A host reference value and the sum of the magnitudes of the terms that make it (the scale of its rounding error).</summary>
internal readonly record struct Reference(double Value, double Scale);
