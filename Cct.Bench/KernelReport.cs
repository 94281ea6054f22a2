namespace Cct.Bench;

internal sealed record KernelReport(string Device, string Kind, string Size, string Time, IReadOnlyList<CaseResult> Cases, string Precision);
