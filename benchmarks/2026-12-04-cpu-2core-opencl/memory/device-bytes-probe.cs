using System.Reflection;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
var create = typeof(ComputeDevice).GetMethods(BindingFlags.NonPublic | BindingFlags.Static).First(m => m.Name == "Create" && m.GetParameters().Length == 5);
var family = typeof(ComputeDevice).Assembly.GetType("Cct.Gpu.Runtime.KernelFamily")!;
var tiled = typeof(ComputeDevice).GetField("TiledCpuShape", BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Static)?.GetValue(null)
    ?? typeof(ComputeDevice).GetProperty("TiledCpuShape", BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Static)!.GetValue(null);
foreach (var preset in new[] { "cct-2/3x2", "cct-7/3x1" })
foreach (var fused in new[] { false, true })
foreach (var batch in args.Select(int.Parse))
{
    using var device = (ComputeDevice)create.Invoke(null, new object?[] { AcceleratorKind.Cpu, tiled, Enum.Parse(family, "Grouped"), fused, GemmPrecision.Fp32 })!;
    using var model = new CctModel(device, CctConfig.Preset(preset), batch);
    Console.WriteLine($"{preset} fused {fused} batch {batch}: {model.DeviceBytes} B = {model.DeviceBytes / 1048576.0:F1} MiB");
}
