using Cct.Gpu.Runtime;

namespace Cct.Bench;

/// <summary>Options of the "train" mode; the same names as tools/bench/pytorch_bench.py's.</summary>
internal sealed record TrainBenchOptions(string Model, int Batch, AcceleratorKind Accelerator, int Steps, int Warmup, int Repeats, int ProfileSteps, string? JsonPath);
