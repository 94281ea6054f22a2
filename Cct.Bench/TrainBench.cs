using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using ILGPU.Runtime;

namespace Cct.Bench;

/// <summary>
/// The "train" mode: one preset, one batch size, on one accelerator. Measures what pytorch_bench.py measures,
/// on a fixed random batch already on the device (no data loading): training throughput (TrainStep =
/// forward, cross-entropy, zero-grad, backward, AdamW; warm-up first, then repeats of timed loops
/// synchronised only at their end, median), inference throughput (eval-mode forward), per-layer time
/// shares of a training step (<see cref="KernelProfiler"/>, a separate profiled run) and device memory.
/// The JSON is rewritten after every phase, so a run cut short keeps what it measured ("complete": false).
/// </summary>
internal static class TrainBench
{
    // The trainer's defaults (Cct.Training TrainOptions); the values do not change the step's cost.
    private static readonly AdamWSettings Optimizer = new(5.5e-4f, 0.9f, 0.999f, 1e-8f, 0.06f);
    private const float LabelSmoothing = 0.1f;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static int Run(TrainBenchOptions options)
    {
        var config = CctConfig.Preset(options.Model);
        using var device = ComputeDevice.Create(options.Accelerator, cpuShape: null, kernels: null, options.FusedAttention, options.Precision, options.CudaGraphs);
        var freeBefore = device.FreeMemoryBytes;
        using var model = new CctModel(device, config, options.Batch);
        model.Initialize(seed: 0);
        model.Seed = 1;
        var inputLength = (long)options.Batch * config.InChannels * config.ImageSize * config.ImageSize;
        var random = new Random(0);
        using var images = device.Upload(Enumerable.Range(0, (int)inputLength).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray());
        using var labels = device.Upload(Enumerable.Range(0, options.Batch).Select(_ => random.Next(config.Classes)).ToArray());

        var report = new JsonObject
        {
            ["implementation"] = "cct-ilgpu",
            ["complete"] = false,
            ["device"] = device.Name,
            ["kind"] = device.Kind.ToString().ToLowerInvariant(),
            ["preset"] = options.Model,
            ["config"] = JsonNode.Parse(config.ToJson()),
            ["batch"] = options.Batch,
            ["fused_attention"] = model.FusesAttention,
            ["precision"] = device.Precision.ToString().ToLowerInvariant(),
            ["cuda_graphs"] = device.ReplaysGraphs,
            ["warmup_steps"] = options.Warmup,
            ["steps"] = options.Steps,
            ["repeats"] = options.Repeats,
            ["parameters"] = model.Parameters.Count,
            ["training_flops_per_image"] = 3 * ModelSummary.ForwardFlopsPerImage(config),
            ["software"] = new JsonObject
            {
                ["dotnet"] = Environment.Version.ToString(),
                ["ilgpu"] = typeof(Accelerator).Assembly.GetName().Version?.ToString(),
                ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            },
            ["time"] = DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture),
        };
        Console.WriteLine($"{options.Model}, batch {options.Batch}, {model.Parameters.Count:N0} parameters, on {device.Name} ({device.Kind.ToString().ToLowerInvariant()}){(model.FusesAttention ? ", fused attention" : string.Empty)}{(device.ReplaysGraphs ? ", CUDA graphs" : string.Empty)}, {device.Precision.ToString().ToLowerInvariant()} Linear products");

        void TrainStep() => model.TrainStep(images.View, labels.View, options.Batch, LabelSmoothing, Optimizer);
        void InferStep() => model.Forward(images.View, options.Batch, train: false);

        var warmup = Stopwatch.StartNew();
        for (var i = 0; i < options.Warmup; i++)
        {
            TrainStep();
            InferStep();
        }

        device.Synchronize();
        report["warmup_seconds"] = warmup.Elapsed.TotalSeconds;
        Console.WriteLine($"warm-up: {options.Warmup} training + inference steps in {warmup.Elapsed.TotalSeconds:F1} s (kernel compilation included)");

        var trainRuns = Throughput(TrainStep, device, options);
        var trainRate = Timing.Median(trainRuns);
        report["train_images_per_second"] = trainRate;
        report["train_images_per_second_runs"] = ToArray(trainRuns);
        report["train_step_ms"] = 1e3 * options.Batch / trainRate;
        var loss = model.ReadLoss();
        report["final_loss"] = loss;
        Console.WriteLine($"training:  {trainRate,10:F1} img/s ({1e3 * options.Batch / trainRate:F2} ms/step), loss {loss:F4}");
        Save(report, options.JsonPath);

        var inferRuns = Throughput(InferStep, device, options);
        var inferRate = Timing.Median(inferRuns);
        report["inference_images_per_second"] = inferRate;
        report["inference_images_per_second_runs"] = ToArray(inferRuns);
        Console.WriteLine($"inference: {inferRate,10:F1} img/s");
        if (device.ReplaysGraphs)
        {
            // Captures and replays so far: the timed steps ran as graphs only if the replays cover them.
            report["graph_captures"] = model.GraphCaptures;
            report["graph_replays"] = model.GraphReplays;
            Console.WriteLine($"graphs:    {model.GraphCaptures} captured, {model.GraphReplays} launched");
        }

        Save(report, options.JsonPath);

        var memory = model.DeviceBytes + images.LengthInBytes + labels.LengthInBytes + device.ScratchBytes;
        report["memory_bytes"] = memory;
        var memoryDetail = new JsonObject
        {
            ["method"] = "bytes of every device buffer the bench allocated (model parameters, gradients, AdamW moments, buffers, activations and their gradients, the input batch, the device scratch for split sums); a step allocates nothing after the first",
        };
        if (freeBefore is { } before && device.FreeMemoryBytes is { } after)
        {
            memoryDetail["device_free_delta_bytes"] = before - after;
        }

        report["memory"] = memoryDetail;
        Console.WriteLine($"memory:    {memory / 1048576.0,10:F1} MiB of device buffers");

        report["kernel_profile"] = Profile(TrainStep, device, options.ProfileSteps);
        report["complete"] = true;
        Save(report, options.JsonPath);
        return float.IsFinite(loss) ? 0 : 1;
    }

    private static double[] Throughput(Action step, ComputeDevice device, TrainBenchOptions options)
    {
        var rates = new double[options.Repeats];
        for (var r = 0; r < rates.Length; r++)
        {
            device.Synchronize();
            var watch = Stopwatch.StartNew();
            for (var s = 0; s < options.Steps; s++)
            {
                step();
            }

            device.Synchronize();
            rates[r] = (double)options.Batch * options.Steps / watch.Elapsed.TotalSeconds;
        }

        return rates;
    }

    private static JsonObject Profile(Action step, ComputeDevice device, int steps)
    {
        var profiler = new KernelProfiler();
        device.Profiler = profiler;
        device.Synchronize();
        var watch = Stopwatch.StartNew();
        for (var s = 0; s < steps; s++)
        {
            step();
        }

        device.Synchronize();
        device.Profiler = null;
        var totalMs = watch.Elapsed.TotalMilliseconds;
        var rows = profiler.Totals
            .Select(kv => (Name: kv.Key, kv.Value.Milliseconds, kv.Value.Calls))
            .Append((Name: "(memsets and host time)", Milliseconds: Math.Max(0, totalMs - profiler.Totals.Values.Sum(v => v.Milliseconds)), Calls: 0))
            .OrderByDescending(r => r.Milliseconds)
            .ToList();
        var kernels = new JsonArray();
        Console.WriteLine($"profile of {steps} training step(s), {totalMs / steps:F2} ms each with a device synchronisation around every layer call:");
        foreach (var (name, ms, calls) in rows)
        {
            kernels.Add(new JsonObject
            {
                ["name"] = name,
                ["ms_per_step"] = ms / steps,
                ["calls_per_step"] = (double)calls / steps,
                ["share"] = ms / totalMs,
            });
            Console.WriteLine($"  {name,-28} {ms / steps,9:F3} ms {100 * ms / totalMs,6:F1} %  {(double)calls / steps,5:F0} calls");
        }

        return new JsonObject
        {
            ["method"] = "Cct.Gpu KernelProfiler: wall time of each layer operation (Class.Method), the device synchronised before and after it; nested calls charged to the outer one",
            ["steps"] = steps,
            ["profiled_step_ms"] = totalMs / steps,
            ["kernels"] = kernels,
        };
    }

    private static JsonArray ToArray(double[] values) => new(values.Select(v => (JsonNode?)v).ToArray());

    // Atomic: a reader (or a run killed mid-write) never sees half a file.
    private static void Save(JsonObject report, string? path)
    {
        if (path is null)
        {
            return;
        }

        var temporary = path + ".tmp";
        File.WriteAllText(temporary, report.ToJsonString(Indented));
        File.Move(temporary, path, overwrite: true);
    }
}
