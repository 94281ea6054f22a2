// 815c44f (the first H200 run's build) had no fused attention: its models kept the probabilities on every device.
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
foreach (var preset in new[] { "cct-2/3x2", "cct-7/3x1" })
foreach (var batch in args.Select(int.Parse))
{
    using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
    using var model = new CctModel(device, CctConfig.Preset(preset), batch);
    Console.WriteLine($"{preset} batch {batch}: {model.DeviceBytes} B = {model.DeviceBytes / 1048576.0:F1} MiB");
}
