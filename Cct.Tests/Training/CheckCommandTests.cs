using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text.Json;
using Cct.Gpu.Gemm;
using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;
using Cct.Cli;

namespace Cct.Tests.Training;

/// <summary>
/// `cct check`: on the CPU accelerator every row passes (the CPU against itself for kernels, against
/// PyTorch for the model), every kernel class has rows, and a wrong result, a throwing kernel or a
/// missing fixture fails it.
/// </summary>
[Category("Cli")]
public sealed class CheckCommandTests
{
    private static readonly Lock Gate = new();
    private string root = string.Empty;
    private int exitCode;
    private string output = string.Empty;
    private JsonElement report;

    /// <summary>One full run for the whole fixture: ~5 s on an idle 2-core machine, ~25 s under load.</summary>
    [OneTimeSetUp]
    public void RunTheCheckOnTheCpu()
    {
        root = Path.Combine(Path.GetTempPath(), "cct-check-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var json = Path.Combine(root, "check.json");
        (exitCode, output, var error) = CliRunner.Run("check", "--accelerator", "cpu", "--json", json);
        Assert.That(exitCode, Is.Zero, output + error);
        report = JsonDocument.Parse(File.ReadAllBytes(json)).RootElement;
    }

    [OneTimeTearDown]
    public void DeleteFolder() => Directory.Delete(root, recursive: true);

    [Test]
    public void CpuCheckPassesEveryRow()
    {
        var rows = report.GetProperty("rows").EnumerateArray().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.Zero);
            Assert.That(report.GetProperty("passed").GetBoolean(), Is.True);
            Assert.That(report.GetProperty("accelerator").GetString(), Is.EqualTo("cpu"));
            Assert.That(report.GetProperty("precision").GetString(), Is.EqualTo("fp32"));
            Assert.That(rows, Has.Count.GreaterThan(100));
            Assert.That(rows.Where(r => !r.GetProperty("pass").GetBoolean()).Select(r => r.GetProperty("op").GetString()), Is.Empty);
            Assert.That(output, Does.Contain($"{rows.Count} of {rows.Count} checks pass"));
            Assert.That(output, Does.Contain("max abs error").And.Contain("max rel error"));
        });
    }

    [Test]
    public void ModelRowsMatchPyTorchWithinTheParityBound()
    {
        var model = report.GetProperty("rows").EnumerateArray()
            .Where(r => r.GetProperty("op").GetString()!.StartsWith("model_", StringComparison.Ordinal)).ToList();
        Assert.That(model.Select(r => r.GetProperty("op").GetString()), Has.Some.StartsWith("model_official: gradients").And.Some.StartsWith("model_postnorm: batchnorm running stats"));
        foreach (var row in model.Where(r => !r.GetProperty("op").GetString()!.Contains("attention_pool.bias", StringComparison.Ordinal)))
        {
            Assert.That(row.GetProperty("atol").GetDouble(), Is.EqualTo(Tolerance.Model.Atol), row.GetProperty("op").GetString());
            Assert.That(row.GetProperty("rtol").GetDouble(), Is.EqualTo(Tolerance.Model.Rtol), row.GetProperty("op").GetString());
        }
    }

    /// <summary>
    /// The registry covers the catalog: every class that declares a kernel Cct.Gpu loads (<see cref="KernelCatalog"/>,
    /// found in the IL) is the <see cref="KernelCase.Layer"/> of a case <c>cct check</c> runs, and every case's layer loads a kernel.
    /// One explicit exception: tensor-core kernels (<see cref="KernelCatalog.IsTensorCore"/>, inline PTX) have no case, since a
    /// case runs on the target and on the CPU reference (and <see cref="EveryRegistryCaseRecordsItsLaunches"/> runs each on the
    /// CPU simulator) and inline PTX runs on neither; their parity is the Gpu-category TensorCoreGemmTests against MatMul's fp32
    /// GEMM on the same CUDA device. The exception covers exactly the classes the compile test's OpenCL rule skips.
    /// </summary>
    [Test]
    public void TheKernelRegistryCoversTheCatalog()
    {
        var owners = KernelCatalog.All().Where(k => !KernelCatalog.IsTensorCore(k)).Select(k => Outermost(k.DeclaringType!)).ToHashSet();
        var layers = KernelCases.All(targetTiled: true).Select(c => c.Layer).ToHashSet();
        Assert.Multiple(() =>
        {
            Assert.That(owners.Where(t => !layers.Contains(t)).Select(t => t.Name), Is.Empty, "classes with kernels but no registry case");
            Assert.That(layers.Where(t => !owners.Contains(t)).Select(t => t.Name), Is.Empty, "registry layers that load no kernel");
        });
    }

    /// <summary>Every case launches its kernels through <see cref="DeviceScope.Launch"/>, so the bench can replay and time any of them.</summary>
    [Test]
    public void EveryRegistryCaseRecordsItsLaunches()
    {
        var silent = new List<string>();
        foreach (var kernelCase in KernelCases.All(targetTiled: false).Concat(KernelCases.Timed(modelScale: false).Select(t => t.Case)))
        {
            using var scope = new DeviceScope(TestDevices.Cpu);
            kernelCase.Run(scope);
            if (scope.Launches.Count == 0)
            {
                silent.Add(kernelCase.Name);
            }
        }

        Assert.That(silent, Is.Empty);
    }

    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is { } outer)
        {
            type = outer;
        }

        return type;
    }

    [Test]
    public void ComparisonFailsOnPerturbedData()
    {
        var reference = KernelCases.Uniform(1, 1000);
        var perturbed = (float[])reference.Clone();
        perturbed[321] += 1e-3f;
        var close = Array.ConvertAll(reference, v => v * (1 + 1e-6f));
        Assert.Multiple(() =>
        {
            var wrong = Comparison.Compare("perturbed", perturbed, reference, Tolerance.Elementwise);
            Assert.That(wrong.Pass, Is.False);
            Assert.That(wrong.MaxAbs, Is.EqualTo(1e-3).Within(1e-6));
            Assert.That(Comparison.Compare("rounding", close, reference, Tolerance.Elementwise).Pass, Is.True);
            Assert.That(Comparison.Compare("same", reference, reference, Tolerance.Exact).Pass, Is.True);
            Assert.That(Comparison.Compare("exact", close, reference, Tolerance.Exact).Pass, Is.False);
            Assert.That(Comparison.Compare("nan on one side", [float.NaN, 1f], [0f, 1f], Tolerance.LongReduction).Pass, Is.False);
            Assert.That(Comparison.Compare("nan on both", [float.NaN, 1f], [float.NaN, 1f], Tolerance.Exact).Pass, Is.True);
            Assert.That(Comparison.Compare("infinity", [float.PositiveInfinity], [3e38f], Tolerance.LongReduction).Pass, Is.False);
            Assert.That(Comparison.Compare("length", [1f], [1f, 2f], Tolerance.Elementwise).Note, Does.Contain("reference has 2"));
        });
    }

    /// <summary>
    /// A "kernel" whose first run (the target's) is off by 0.01 in one element, and one that throws on the
    /// target: the command prints FAIL rows and notes, and exits 1 with one line on stderr.
    /// </summary>
    [Test]
    public void AWrongKernelFailsTheCommand()
    {
        var runs = 0;
        var wrong = new KernelCase("relu with a bug on the target", typeof(Relu), s =>
        {
            var input = KernelCases.Uniform(5, 100);
            if (runs++ == 0)
            {
                input[17] = Math.Abs(input[17]) + 0.01f;
            }

            var x = s.Upload(input);
            var y = s.Zeros(input.Length);
            Relu.For(s.Device).Forward(y, x, input.Length);
            return [new CheckOutput("output", DeviceScope.Read(y), Tolerance.Elementwise)];
        });
        var calls = 0;
        var throwing = new KernelCase("kernel that throws on the target", typeof(Relu), s =>
            calls++ == 0 ? throw new InvalidOperationException("launch failed") : [new CheckOutput("output", [1f], Tolerance.Exact)]);
        var good = new KernelCase("a correct kernel", typeof(Relu), _ => [new CheckOutput("output", [1f, 2f], Tolerance.Exact)]);

        var (code, stdout, stderr) = Capture(() => CheckCommand.Run(["--accelerator", "cpu"], (target, reference) => DeviceCheck.CompareKernels(target, reference, [wrong, throwing, good]), _ => []));
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1));
            Assert.That(stdout, Does.Contain("relu with a bug on the target: output").And.Contain("FAIL"));
            Assert.That(stdout, Does.Contain("note: kernel that throws on the target: throws on cpu").And.Contain("launch failed"));
            Assert.That(stdout, Does.Contain("1 of 3 checks pass"));
            Assert.That(stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
            Assert.That(stderr, Does.StartWith("cct: check failed: 2 of 3 checks fail on cpu"));
        });
    }

    [Test]
    public void HelpAndBadInput()
    {
        var (helpCode, help, _) = CliRunner.Run("check", "--help");
        Assert.That(helpCode, Is.Zero);
        Assert.That(help, Does.Contain("usage: cct check").And.Contain("--accelerator"));
        foreach (var (args, message) in new[]
        {
            (new[] { "check", "--fixtures", Path.Combine(root, "nowhere") }, "model fixture"),
            (new[] { "check", "--accelerator", "tpu" }, "--accelerator must be one of"),
            (new[] { "check", "extra" }, "takes no arguments"),
            (new[] { "check", "--bogus" }, "unknown option --bogus"),
            (new[] { "check", "--precision", "fp16" }, "--precision must be one of"),
            (new[] { "check", "--accelerator", "cpu", "--precision", "tf32x3" }, "precision tf32x3 needs a CUDA GPU of compute capability 8.0"),
        })
        {
            var (code, _, error) = CliRunner.Run(args);
            Assert.That(code, Is.EqualTo(2), string.Join(" ", args));
            Assert.That(error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), error);
            Assert.That(error, Does.StartWith("cct: error: ").And.Contain(message));
        }
    }

    /// <summary>
    /// GPU-only: needs a CUDA device, so the default test command excludes the "Gpu" category
    /// (`--filter "TestCategory!=Gpu"`); GPU machines run it with `--filter "TestCategory=Gpu"`.
    /// </summary>
    [Test]
    [Category("Gpu")]
    public void CudaCheckPasses()
    {
        var (code, stdout, stderr) = CliRunner.Run("check", "--accelerator", "cuda");
        Assert.That(code, Is.Zero, stdout + stderr);
    }

    /// <summary>
    /// A rehearsal of `cct check --accelerator cuda`: every kernel case and both model fixtures through the GPU
    /// kernels (on the simulator that runs them) against the CPU kernels, with the tolerances a GPU gets.
    /// </summary>
    [Test]
    public void GpuKernelsPassTheCheckOnTheSimulator()
    {
        var target = TestDevices.GpuKernelsCpu;
        var rows = DeviceCheck.CompareKernels(target, TestDevices.Cpu, KernelCases.All(targetTiled: true))
            .Concat(DeviceCheck.CompareModels(target, ModelParity.Fixtures.Select(name => (name, ModelParity.Load(ModelParity.DefaultFolder, name)))))
            .ToList();
        Assert.That(rows, Has.Count.GreaterThan(100));
        Assert.That(rows.Where(r => !r.Pass).Select(r => $"{r.Op}: {r.MaxAbs:G3}"), Is.Empty);
    }

    private static (int Code, string Out, string Error) Capture(Func<int> run)
    {
        lock (Gate)
        {
            var (oldOut, oldError) = (Console.Out, Console.Error);
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            Console.SetOut(stdout);
            Console.SetError(stderr);
            try
            {
                return (run(), stdout.ToString(), stderr.ToString());
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldError);
            }
        }
    }
}
