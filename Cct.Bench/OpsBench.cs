using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Gpu.Reductions;
using Cct.Gpu.Runtime;

namespace Cct.Bench;

/// <summary>
/// The "ops" mode: device operations (kernel launches and memsets, <see cref="DeviceOperations"/>) of one
/// training step (TrainStep plus the trainer's TrainingStatistics.Accumulate) and one inference batch, with
/// the GPU kernels. On the CPU accelerator they are counted, not run (<see cref="DeviceOperations.CountOnly"/>),
/// on the simulator with 16x16 groups: the tiled kernels would take hours there. The simulator has one
/// multiprocessor, so it never splits K (MatMul.SplitsFor); a large GPU splits the weight-gradient products
/// and adds one launch per split product. It also prints the model's device bytes (<see cref="CctModel.DeviceBytes"/>),
/// which with the GPU kernels are what a CUDA device would allocate for it.
/// </summary>
internal static class OpsBench
{
    private static readonly AdamWSettings Optimizer = new(5.5e-4f, 0.9f, 0.999f, 1e-8f, 0.06f);

    public static int Run(TrainBenchOptions options)
    {
        var config = CctConfig.Preset(options.Model);
        using var device = options.Accelerator == AcceleratorKind.Cpu
            ? ComputeDevice.Create(AcceleratorKind.Cpu, ComputeDevice.TiledCpuShape, KernelFamily.Grouped)
            : ComputeDevice.Create(options.Accelerator);
        var batch = options.Batch;
        using var model = new CctModel(device, config, batch);
        model.Initialize(seed: 0);
        var random = new Random(0);
        using var images = device.Upload(Enumerable.Range(0, batch * config.InChannels * config.ImageSize * config.ImageSize).Select(_ => (float)random.NextDouble()).ToArray());
        using var labels = device.Upload(Enumerable.Range(0, batch).Select(_ => random.Next(config.Classes)).ToArray());
        using var statistics = device.Allocate(TrainingStatistics.Length);
        TrainingStatistics.Reset(statistics.View);
        Console.WriteLine($"{options.Model}, batch {batch}, GPU kernels on {device.Name} ({device.Kind.ToString().ToLowerInvariant()}, {device.Accelerator.NumMultiprocessors} multiprocessors)");

        // The first step loads every kernel set (and grows the scratch buffers); count the second.
        device.Operations.CountOnly = device.Kind == AcceleratorKind.Cpu;
        TrainStep();
        var train = Count(device, TrainStep);
        var inference = Count(device, () => model.Forward(images.View, batch, train: false));
        Print("training step", train);
        Print("inference batch", inference);
        // What CUDA would allocate for this model: the GPU kernels' layout (fused attention where it applies).
        Console.WriteLine($"device buffers: {model.DeviceBytes:N0} bytes ({model.DeviceBytes / 1048576.0:F1} MiB) for parameters, gradients, AdamW moments, activations and their gradients{(model.FusesAttention ? ", fused attention" : string.Empty)}");
        return 0;

        void TrainStep()
        {
            model.TrainStep(images.View, labels.View, batch, 0.1f, Optimizer);
            TrainingStatistics.For(device).Accumulate(statistics.View, model.Losses, model.Probabilities, labels.View, batch, config.Classes, (int)model.Step);
        }
    }

    private static (long Launches, long Memsets, Dictionary<string, long> ByKernel) Count(ComputeDevice device, Action run)
    {
        var operations = device.Operations;
        var (launches, memsets) = (operations.Launches, operations.Memsets);
        var before = operations.LaunchesByKernel.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        run();
        device.Synchronize();
        var byKernel = operations.LaunchesByKernel
            .Select(kv => (kv.Key, Count: kv.Value - before.GetValueOrDefault(kv.Key)))
            .Where(kv => kv.Count > 0)
            .ToDictionary(kv => kv.Key, kv => kv.Count, StringComparer.Ordinal);
        return (operations.Launches - launches, operations.Memsets - memsets, byKernel);
    }

    private static void Print(string what, (long Launches, long Memsets, Dictionary<string, long> ByKernel) count)
    {
        Console.WriteLine($"{what}: {count.Launches + count.Memsets} device operations = {count.Launches} kernel launches + {count.Memsets} memsets");
        foreach (var (kernel, launches) in count.ByKernel.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
        {
            Console.WriteLine($"  {kernel,-40} {launches,5}");
        }
    }
}
