namespace Cct.Gpu.Runtime;

/// <summary>One device a user can pick, as reported by <see cref="ComputeDevice.List"/>.</summary>
public sealed record DeviceDescription(AcceleratorKind Kind, string Name, long MemoryBytes, int MaxGroupSize);
