using Cct.Gpu.Runtime;

namespace Cct.Tests.Support;

/// <summary>
/// One CUDA device per precision, made on first use and disposed with the fixture that holds it: each costs a context and
/// its kernels' JIT, so a Gpu-category fixture shares them across its tests.
/// </summary>
internal sealed class CudaDevices : IDisposable
{
    private readonly Dictionary<GemmPrecision, ComputeDevice> devices = [];

    public ComputeDevice this[GemmPrecision precision]
    {
        get
        {
            if (!devices.TryGetValue(precision, out var device))
            {
                devices[precision] = device = ComputeDevice.Create(AcceleratorKind.Cuda, precision);
            }

            return device;
        }
    }

    public void Dispose()
    {
        foreach (var device in devices.Values)
        {
            device.Dispose();
        }

        devices.Clear();
    }
}
