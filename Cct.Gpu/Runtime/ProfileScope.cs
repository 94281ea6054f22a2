namespace Cct.Gpu.Runtime;

/// <summary>One profiled operation; a no-op when the device has no profiler.</summary>
internal readonly struct ProfileScope : IDisposable
{
    private readonly ComputeDevice device;
    private readonly KernelProfiler? profiler;
    private readonly string name;

    internal ProfileScope(ComputeDevice device, string name)
    {
        this.device = device;
        this.name = name;
        profiler = device.Profiler;
        profiler?.Enter(device);
    }

    public void Dispose() => profiler?.Exit(device, name);
}
