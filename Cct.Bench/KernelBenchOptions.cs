using Cct.Gpu.Runtime;

namespace Cct.Bench;

/// <summary>The "kernels" mode's command line: the accelerator, the problem size and where to write the JSON report.</summary>
internal sealed record KernelBenchOptions(AcceleratorKind Accelerator, BenchSize Size, string? JsonPath);
