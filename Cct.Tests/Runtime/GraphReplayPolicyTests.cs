using Cct.Gpu.Runtime;

namespace Cct.Tests.Runtime;

/// <summary>
/// <see cref="GraphReplay"/>'s policy (when it launches plainly, captures, replays, drops its graphs or gives up) through
/// a recording driver, so it runs without a GPU: the work is a closure that logs whether it ran or was being captured.
/// What a real capture computes is <see cref="GraphReplayTests"/>' (category Gpu).
/// </summary>
public sealed class GraphReplayPolicyTests
{
    private ComputeDevice device = null!;

    [OneTimeSetUp]
    public void CreateDevice() => device = ComputeDevice.Create(AcceleratorKind.Cpu);

    [OneTimeTearDown]
    public void DisposeDevice() => device.Dispose();

    [Test]
    public void SteadyWorkIsCapturedOnceThenReplayed()
    {
        var driver = new RecordingDriver();
        using var replay = new GraphReplay(device, driver);
        var log = new List<string>();
        var first = true;
        for (var i = 0; i < 5; i++)
        {
            replay.Run("step", () =>
            {
                log.Add(driver.Capturing ? "captured" : "ran");
                if (first)
                {
                    // The first step allocates its scratch buffers: not steady yet.
                    device.Reallocated();
                    first = false;
                }
            });
        }

        Assert.Multiple(() =>
        {
            Assert.That(log, Is.EqualTo(new[] { "ran", "ran", "captured" }), "the step after the one that moved buffers is the steady one; the next is captured, the rest replayed");
            Assert.That(driver.Launches, Is.EqualTo(3), "the captured step is launched as a graph, then two replays");
            Assert.That((replay.Captures, replay.Replays), Is.EqualTo((1, 3)));
        });
    }

    [Test]
    public void AMovedBufferDropsTheGraphsUntilTheWorkIsSteadyAgain()
    {
        var driver = new RecordingDriver();
        using var replay = new GraphReplay(device, driver);
        var log = new List<string>();
        void Step() => replay.Run("step", () => log.Add(driver.Capturing ? "captured" : "ran"));
        Step();
        Step();
        Step();
        device.Reallocated();
        log.Add("moved");
        Step();
        Step();
        Step();
        Assert.Multiple(() =>
        {
            Assert.That(log, Is.EqualTo(new[] { "ran", "captured", "moved", "ran", "captured" }), "after the move: one plain run to be steady again, then a capture");
            Assert.That(driver.Destroyed, Is.EqualTo(1), "the first graph is destroyed when the buffer moves");
            Assert.That((replay.Captures, replay.Replays), Is.EqualTo((2, 4)));
        });
    }

    [Test]
    public void WorkThatAlternatesIsNeverCaptured()
    {
        var driver = new RecordingDriver();
        using var replay = new GraphReplay(device, driver);
        for (var i = 0; i < 6; i++)
        {
            replay.Run(i % 2 == 0 ? "train" : "eval", () => { });
        }

        Assert.That((driver.Captures, replay.Replays), Is.EqualTo((0, 0)));
    }

    [Test]
    public void PastEightGraphsTheLeastRecentlyLaunchedGoes()
    {
        var driver = new RecordingDriver();
        using var replay = new GraphReplay(device, driver);
        for (var key = 0; key < 9; key++)
        {
            for (var i = 0; i < 3; i++)
            {
                replay.Run(key, () => { });
            }
        }

        // Key 0 was launched longest ago: its graph made room for key 8's, so it runs plainly, then is captured again.
        var log = new List<string>();
        replay.Run(8, () => log.Add("8 ran"));
        replay.Run(0, () => log.Add(driver.Capturing ? "0 captured" : "0 ran"));
        replay.Run(0, () => log.Add(driver.Capturing ? "0 captured" : "0 ran"));
        Assert.Multiple(() =>
        {
            Assert.That(log, Is.EqualTo(new[] { "0 ran", "0 captured" }), "key 8 replayed; key 0 was evicted");
            Assert.That((replay.Captures, driver.Destroyed), Is.EqualTo((10, 2)), "ten captures, two evictions");
        });
    }

    [Test]
    public void ARefusedInstantiationOrLaunchRunsTheWorkPlainly([Values("instantiate", "launch")] string refusal)
    {
        var driver = new RecordingDriver { RefuseInstantiate = refusal == "instantiate", RefuseLaunch = refusal == "launch" };
        using var replay = new GraphReplay(device, driver);
        var log = new List<string>();
        var error = StandardErrorOf(() =>
        {
            for (var i = 0; i < 4; i++)
            {
                replay.Run("step", () => log.Add(driver.Capturing ? "captured" : "ran"));
            }
        });

        Assert.Multiple(() =>
        {
            Assert.That(log, Is.EqualTo(new[] { "ran", "captured", "ran", "ran", "ran" }), "the step whose graph was refused runs plainly, once");
            Assert.That(driver.Launches, Is.EqualTo(refusal == "launch" ? 1 : 0), "the refused launch is the only one tried");
            Assert.That(error, Does.Contain(refusal == "launch" ? "cuGraphLaunch: result 700" : "cuGraphInstantiateWithFlags: result 700"));
        });
    }

    [Test]
    public void ARefusedCaptureRunsTheWorkPlainlyFromThenOnAndSaysSoOnce()
    {
        var driver = new RecordingDriver { RefuseDuringCapture = true };
        using var replay = new GraphReplay(device, driver);
        var log = new List<string>();
        var error = StandardErrorOf(() =>
        {
            for (var i = 0; i < 5; i++)
            {
                replay.Run("step", () =>
                {
                    log.Add(driver.Capturing ? "captured" : "ran");
                    if (driver.Capturing)
                    {
                        throw new DriverRefusal();
                    }
                });
            }
        });

        Assert.Multiple(() =>
        {
            Assert.That(log, Is.EqualTo(new[] { "ran", "captured", "ran", "ran", "ran", "ran" }), "the refused capture's work runs again plainly, and so does all after");
            Assert.That(driver.Capturing, Is.False, "the capture was ended");
            Assert.That(driver.Captures, Is.EqualTo(1), "no second capture after a refusal");
            Assert.That(error.TrimEnd().Split('\n'), Has.Length.EqualTo(1).And.One.Contains("CUDA graph capture failed (refused); steps run with plain launches"));
        });
    }

    [Test]
    public void AnotherExceptionDuringCaptureEndsTheCaptureAndPropagates()
    {
        var driver = new RecordingDriver();
        using var replay = new GraphReplay(device, driver);
        replay.Run("step", () => { });
        Assert.Throws<ArgumentException>(() => replay.Run("step", () => throw new ArgumentException("bad argument")));
        Assert.Multiple(() =>
        {
            Assert.That(driver.Capturing, Is.False, "the capture was ended");
            Assert.That(driver.GraphsDestroyed, Is.EqualTo(1), "the graph it ended with was destroyed");
        });

        // Not steady after a throw: the next run is plain, not another capture.
        var log = new List<string>();
        replay.Run("step", () => log.Add(driver.Capturing ? "captured" : "ran"));
        Assert.That(log, Is.EqualTo(new[] { "ran" }));
    }

    [Test]
    public void ProfiledWorkAlwaysRunsPlainly()
    {
        var driver = new RecordingDriver();
        using var replay = new GraphReplay(device, driver);
        device.Profiler = new KernelProfiler();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                replay.Run("step", () => { });
            }
        }
        finally
        {
            device.Profiler = null;
        }

        Assert.That(driver.Captures, Is.Zero);
    }

    // What run writes to standard error.
    private static string StandardErrorOf(Action run)
    {
        var error = new StringWriter();
        var standardError = Console.Error;
        Console.SetError(error);
        try
        {
            run();
        }
        finally
        {
            Console.SetError(standardError);
        }

        return error.ToString();
    }

    private sealed class DriverRefusal() : Exception("refused");

    // Graph handles are counters; launches and destructions are counted.
    private sealed class RecordingDriver : IGraphDriver
    {
        private long next = 1;

        public bool Capturing { get; private set; }

        public bool RefuseDuringCapture { get; init; }

        public bool RefuseInstantiate { get; init; }

        public bool RefuseLaunch { get; init; }

        public int GraphsDestroyed { get; private set; }

        public int Captures { get; private set; }

        public int Launches { get; private set; }

        public int Destroyed { get; private set; }

        public int BeginCapture()
        {
            Capturing = true;
            Captures++;
            return 0;
        }

        public int EndCapture(out IntPtr graph)
        {
            Capturing = false;
            graph = (IntPtr)next++;
            return 0;
        }

        // 700 is CUDA_ERROR_ILLEGAL_ADDRESS; any non-zero result is a refusal.
        public int Instantiate(out IntPtr executable, IntPtr graph)
        {
            executable = RefuseInstantiate ? IntPtr.Zero : (IntPtr)next++;
            return RefuseInstantiate ? 700 : 0;
        }

        public int Launch(IntPtr executable)
        {
            Launches++;
            return RefuseLaunch ? 700 : 0;
        }

        public void DestroyGraph(IntPtr graph) => GraphsDestroyed++;

        public void DestroyExecutable(IntPtr executable) => Destroyed++;

        public string Describe(int result) => $"result {result}";

        public bool IsRefusal(Exception exception) => RefuseDuringCapture && exception is DriverRefusal;
    }
}
