namespace Cct.Bench;

/// <summary>One timed case, as printed and as written to the JSON report.</summary>
internal sealed record CaseResult(string Name, string Shape, double? MedianMs, int Runs, double? GflopPerSecond, double? GbPerSecond, double? MaxError, string? Error);
