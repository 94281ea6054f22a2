using ILGPU.Runtime.Cuda;

namespace Cct.Gpu.Runtime;

/// <summary>
/// Replays a model's step (or inference batch) as a CUDA graph: one cuGraphLaunch instead of a launch per kernel
/// (cct-7/3x1's training step is 164 device operations). A graph keeps the kernel arguments and buffers it was captured
/// with, so the work is captured only once it is steady: the previous run had the same key (the caller's description of
/// every argument the launches bake in) and moved no buffer (<see cref="ComputeDevice.MemoryGeneration"/>). Values that
/// change per step live in device memory (<see cref="Model.DeviceStepValues"/>). A buffer that moves afterwards drops
/// every graph. If the driver refuses a capture, the work runs with plain launches from then on, and one line on
/// standard error says so.
/// </summary>
internal sealed class GraphReplay : IDisposable
{
    /// <summary>Graphs kept at once; more keys than this run plain (a training step, an eval batch and their last, shorter batches).</summary>
    private const int MaxGraphs = 8;

    private readonly ComputeDevice device;
    private readonly IGraphDriver driver;
    private readonly Dictionary<object, IntPtr> graphs = [];
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

        if (graphs.TryGetValue(key, out var executable))
        {
            Check(driver.Launch(executable), "cuGraphLaunch");
            Replays++;
            return;
        }

        // Steady: the last plain run was this work, moved no buffer, and none moved since (another model's work may have).
        var steady = previousSteady && Equals(previousKey, key) && previousGeneration == device.MemoryGeneration;
        if (steady && graphs.Count < MaxGraphs && Capture(key, launches))
        {
            return;
        }

        var before = device.MemoryGeneration;
        launches();
        previousKey = key;
        previousGeneration = device.MemoryGeneration;
        previousSteady = previousGeneration == before;
    }

    public void Dispose() => DestroyAll();

    // Captures and launches the work; false (after saying why, once) when the driver refused, so the caller runs it plainly.
    private bool Capture(object key, Action launches)
    {
        var begun = driver.BeginCapture();
        if (begun != 0)
        {
            return Fail($"cuStreamBeginCapture: {driver.Describe(begun)}");
        }

        string? refused = null;
        IntPtr graph;
        try
        {
            launches();
        }
        catch (Exception e) when (driver.IsRefusal(e))
        {
            // A call the capture does not allow; what was captured never ran, and the caller runs the work again.
            refused = e.Message;
        }
        finally
        {
            // Ends the capture whatever was thrown, so the stream takes launches again.
            var ended = driver.EndCapture(out graph);
            refused ??= ended == 0 ? null : $"cuStreamEndCapture: {driver.Describe(ended)}";
        }

        if (refused is not null)
        {
            if (graph != IntPtr.Zero)
            {
                driver.DestroyGraph(graph);
            }

            return Fail(refused);
        }

        var instantiated = driver.Instantiate(out var executable, graph);
        driver.DestroyGraph(graph);
        if (instantiated != 0)
        {
            return Fail($"cuGraphInstantiateWithFlags: {driver.Describe(instantiated)}");
        }

        graphs.Add(key, executable);
        Captures++;
        Check(driver.Launch(executable), "cuGraphLaunch");
        Replays++;
        return true;
    }

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
        foreach (var executable in graphs.Values)
        {
            driver.DestroyExecutable(executable);
        }

        graphs.Clear();
    }

    private void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new InvalidOperationException($"{call} failed: {driver.Describe(result)}");
        }
    }
}
