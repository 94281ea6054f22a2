namespace Cct.Bench;

/// <summary>
/// One timed registry case, as printed and as written to the JSON report: the median milliseconds of one replay of
/// its launches, the runs behind it, throughput where the case states its work, and the worst relative error of its
/// outputs against the CPU accelerator; <see cref="Error"/> names the output that failed its bound instead.
/// </summary>
internal sealed record CaseResult(string Name, double? MedianMs, int Runs, double? GflopPerSecond, double? GbPerSecond, double? WorstRelativeError, string? Error);
