using ILGPU.Runtime.Cuda;

namespace Cct.Gpu.Runtime;

/// <summary>
/// Replays a model's step (or inference batch) as a CUDA graph: one cuGraphLaunch instead of a launch per kernel
/// (cct-7/3x1's training step is 171 device operations). A graph keeps the kernel arguments and buffers it was captured
/// with, so the work is captured only once it is steady: the previous run had the same key (the caller's description of
/// every argument the launches bake in) and moved no buffer (<see cref="ComputeDevice.MemoryGeneration"/>). Values that
/// change per step live in device memory (<see cref="Model.DeviceStepValues"/>). A buffer that moves afterwards drops
/// every graph. If the driver refuses a capture, an instantiation or a launch, the work runs with plain launches from
/// then on, and one line on standard error says so.
/// </summary>
internal sealed class GraphReplay : IDisposable
{
    /// <summary>
    /// Graphs kept at once (a training step, an eval batch and their last, shorter batches need 4); past it the least
    /// recently launched goes, so keys that never come back (a new input buffer per call) cannot hold every place.
    /// </summary>
    private const int MaxGraphs = 8;

    private readonly ComputeDevice device;
    private readonly IGraphDriver driver;
    private readonly Dictionary<object, (IntPtr Executable, long LastUse)> graphs = [];
    private long uses;
    private int graphsGeneration;
    private object? previousKey;
    private bool previousSteady;
    private int previousGeneration;
    private bool failed;

    /// <summary>Replays on <paramref name="device"/>'s default stream through the CUDA driver.</summary>
    public GraphReplay(ComputeDevice device)
        : this(device, new CudaGraphDriver(device.Accelerator.DefaultStream as CudaStream ?? throw new NotSupportedException("CUDA graphs need a CUDA device")))
    {
    }

    /// <summary>Replays through <paramref name="driver"/> (tests drive the policy with a driver of their own).</summary>
    internal GraphReplay(ComputeDevice device, IGraphDriver driver)
    {
        this.device = device;
        this.driver = driver;
        graphsGeneration = device.MemoryGeneration;
    }

    /// <summary>Graphs captured so far (tests and the bench).</summary>
    public int Captures { get; private set; }

    /// <summary>Graph launches so far (tests and the bench).</summary>
    public int Replays { get; private set; }

    /// <summary>
    /// Runs <paramref name="launches"/>: replays its graph for <paramref name="key"/>, captures one when the work is steady,
    /// or launches it plainly. Every argument the launches take that is not in device memory must be in the key.
    /// </summary>
    public void Run(object key, Action launches)
    {
        if (failed || device.Profiler is not null)
        {
            launches();
            return;
        }

        if (device.MemoryGeneration != graphsGeneration)
        {
            DestroyAll();
            graphsGeneration = device.MemoryGeneration;
        }

        if (graphs.TryGetValue(key, out var graph))
        {
            if (Launch(key, graph.Executable))
            {
                return;
            }
        }
        else
        {
            // Steady: the last plain run was this work, moved no buffer, and none moved since (another model's work may have).
            var steady = previousSteady && Equals(previousKey, key) && previousGeneration == device.MemoryGeneration;
            if (steady && Capture(key, launches))
            {
                return;
            }
        }

        // A driver refusal on the way (captured work never runs, a refused launch runs nothing) lands here too.
        var before = device.MemoryGeneration;
        launches();
        previousKey = key;
        previousGeneration = device.MemoryGeneration;
        previousSteady = previousGeneration == before;
    }

    public void Dispose() => DestroyAll();

    // Captures the work and launches the graph; false (after saying why, once) when the driver refused, so the caller runs
    // the work plainly.
    private bool Capture(object key, Action launches)
    {
        int begun;
        try
        {
            begun = driver.BeginCapture();
        }
        catch (Exception e) when (IsMissing(e))
        {
            return Fail(e.Message);
        }

        if (begun != 0)
        {
            return Fail($"cuStreamBeginCapture: {driver.Describe(begun)}");
        }

        string? refused = null;
        var graph = IntPtr.Zero;
        var completed = false;
        try
        {
            launches();
            completed = true;
        }
        catch (Exception e) when (driver.IsRefusal(e))
        {
            // A call the capture does not allow; what was captured never ran.
            refused = e.Message;
        }
        finally
        {
            // Ends the capture whatever was thrown, so the stream takes launches again; anything but the driver's refusal
            // propagates, and the work counts as not steady.
            var ended = driver.EndCapture(out graph);
            refused ??= ended == 0 ? null : $"cuStreamEndCapture: {driver.Describe(ended)}";
            if ((!completed || refused is not null) && graph != IntPtr.Zero)
            {
                driver.DestroyGraph(graph);
                graph = IntPtr.Zero;
            }

            previousSteady &= completed;
        }

        if (refused is not null)
        {
            return Fail(refused);
        }

        int instantiated;
        IntPtr executable;
        try
        {
            instantiated = driver.Instantiate(out executable, graph);
        }
        catch (Exception e) when (IsMissing(e))
        {
            driver.DestroyGraph(graph);
            return Fail(e.Message);
        }

        driver.DestroyGraph(graph);
        if (instantiated != 0)
        {
            return Fail($"cuGraphInstantiateWithFlags: {driver.Describe(instantiated)}");
        }
        if (graphs.Count >= MaxGraphs)
        {
            var oldest = graphs.MinBy(g => g.Value.LastUse);
            driver.DestroyExecutable(oldest.Value.Executable);
            graphs.Remove(oldest.Key);
        }

        graphs.Add(key, (executable, uses));
        Captures++;
        return Launch(key, executable);
    }

    // The graph's launch; false (after Fail) when the driver refused it, which ran nothing.
    private bool Launch(object key, IntPtr executable)
    {
        var launched = driver.Launch(executable);
        if (launched != 0)
        {
            return Fail($"cuGraphLaunch: {driver.Describe(launched)}");
        }

        graphs[key] = (executable, ++uses);
        Replays++;
        return true;
    }

    // A driver too old to have a call (cuGraphInstantiateWithFlags is CUDA 11.4) refuses graphs as a failed call would.
    private static bool IsMissing(Exception e) => e is EntryPointNotFoundException or DllNotFoundException;

    private bool Fail(string reason)
    {
        failed = true;
        DestroyAll();
        Console.Error.WriteLine($"cct: CUDA graph capture failed ({reason.Split('\n')[0]}); steps run with plain launches");
        return false;
    }

    private void DestroyAll()
    {
        // A graph still running is freed when it completes (cuGraphExecDestroy).
        foreach (var (executable, _) in graphs.Values)
        {
            driver.DestroyExecutable(executable);
        }

        graphs.Clear();
    }
}
