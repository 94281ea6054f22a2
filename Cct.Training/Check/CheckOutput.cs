namespace Cct.Training.Check;

/// <summary>One named result of a case, read back to the host, with the bound it must meet.</summary>
internal sealed record CheckOutput(string Name, float[] Values, Tolerance Tolerance);
