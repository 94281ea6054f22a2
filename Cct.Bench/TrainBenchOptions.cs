using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Bench;

/// <summary>Options of the "train" mode; the same names as tools/bench/pytorch_bench.py's.</summary>
internal sealed record TrainBenchOptions(string Model, int Batch, AcceleratorKind Accelerator, int Steps, int Warmup, int Repeats, int ProfileSteps, string? JsonPath);
