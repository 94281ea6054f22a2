using Cct.Gpu.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Training.Check;

/// <summary>
/// Device buffers for one check case, freed together. Views have exactly the requested length,
/// as the model's slices do, since some kernels bound their threads by a view's length.
/// </summary>
internal sealed class DeviceScope : IDisposable
{
    private readonly List<IDisposable> owned = [];
    private readonly List<Action> launches = [];

    public DeviceScope(ComputeDevice device) => Device = device;

    public ComputeDevice Device { get; }

    /// <summary>The kernel calls of the case, in order, as <see cref="Launch"/> ran them: what the bench replays.</summary>
    public IReadOnlyList<Action> Launches => launches;

    /// <summary>Runs one kernel call of a case now and records it for replay; its buffers must be in this scope already.</summary>
    public void Launch(Action launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        launch();
        launches.Add(launch);
    }

    public ArrayView<float> Upload(float[] data) => Own(Device.Upload(data)).View.SubView(0, Math.Max(1, data.Length));

    public ArrayView<int> Upload(int[] data) => Own(Device.Upload(data)).View.SubView(0, Math.Max(1, data.Length));

    public ArrayView<byte> Upload(byte[] data) => Own(Gpu.Data.BatchAssembler.For(Device).UploadPixels(data)).View.SubView(0, Math.Max(1, data.Length));

    public ArrayView<float> Zeros(long length)
    {
        var buffer = Own(Device.Allocate(length));
        buffer.MemSetToZero();
        return buffer.View.SubView(0, Math.Max(1, length));
    }

    public ArrayView<int> IntZeros(long length)
    {
        var buffer = Own(Device.Accelerator.Allocate1D<int>(Math.Max(1, length)));
        buffer.MemSetToZero();
        return buffer.View;
    }

    /// <summary>Copies a view to the host; the copy waits for the kernels queued before it.</summary>
    public static float[] Read(ArrayView<float> view)
    {
        var data = new float[view.Length];
        view.CopyToCPU(data);
        return data;
    }

    /// <summary>Integers (argmax, labels) as floats, so one comparison serves all outputs; exact below 2^24.</summary>
    public static float[] Read(ArrayView<int> view)
    {
        var data = new int[view.Length];
        view.CopyToCPU(data);
        return Array.ConvertAll(data, v => (float)v);
    }

    // No synchronisation here: Read already waited, and a device that failed must still free its buffers.
    public void Dispose()
    {
        foreach (var buffer in owned)
        {
            buffer.Dispose();
        }

        owned.Clear();
    }

    /// <summary>Disposes <paramref name="buffer"/> with the scope's own buffers.</summary>
    public T Own<T>(T buffer)
        where T : IDisposable
    {
        owned.Add(buffer);
        return buffer;
    }
}
