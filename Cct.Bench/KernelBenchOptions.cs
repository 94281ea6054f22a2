using Cct.Gpu.Runtime;

namespace Cct.Bench;

/// <summary>The "kernels" mode's command line: the accelerator, the problem size, where to write the JSON report, and the target's precision (the Linear rows run on tensor cores in a tensor-core one).</summary>
internal sealed record KernelBenchOptions(AcceleratorKind Accelerator, BenchSize Size, string? JsonPath, GemmPrecision Precision = GemmPrecision.Fp32);
