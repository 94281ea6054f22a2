using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Cct.CommandLine;
using Cct.Gpu.IO;
using Cct.Gpu.Runtime;
using Cct.Training.Check;
using Cct.Training.Reports;
using Spectre.Console;

namespace Cct.Cli;

/// <summary>
/// `cct check`: every kernel forward and backward on the chosen accelerator against the CPU accelerator
/// on the same fixed inputs, then the whole model against the committed PyTorch fixtures. Users run it to
/// trust a GPU; exit code 1 when any row fails.
/// </summary>
internal static class CheckCommand
{
    private const string Help = """
        usage: cct check [--accelerator auto|cuda|opencl|cpu] [--precision fp32|tf32x3|tf32|bf16] [--fixtures DIR] [--json FILE]
          Runs every kernel (forward and backward) on the accelerator and compares it with the CPU
          accelerator on the same inputs, then trains the tiny PyTorch-fixture models one step and five
          AdamW steps and compares logits, loss, gradients and parameters with PyTorch's float64 values.
          Prints op, max abs error, max rel error, tolerance and pass; exits with 1 if any check fails.
          --precision P   the target's Linear products and fused attention on tensor cores (CUDA), bounded for P
          --fixtures DIR  model_official/model_postnorm.safetensors (default: check-fixtures/ beside cct)
          --json FILE     also write the rows as JSON
        """;

    // Bound to the current Console.Out on each call (AnsiConsole's static instance captures the first one).
    private static IAnsiConsole Terminal()
    {
        var terminal = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        if (Console.IsOutputRedirected)
        {
            // Logs have no width; Spectre's default 80 columns would wrap every op name.
            terminal.Profile.Width = 160;
        }

        return terminal;
    }

    public static int Run(string[] args) => Run(args, DeviceCheck.CompareKernels, DeviceCheck.LoadModelFixtures);

    /// <summary>The command with its kernel comparison and fixtures injectable, so tests can check that a wrong kernel fails it.</summary>
    internal static int Run(string[] args, Func<ComputeDevice, ComputeDevice, IReadOnlyList<CheckRow>> compareKernels, Func<string, IReadOnlyList<(string Name, SafeTensorsFile File)>> loadFixtures)
    {
        var parsed = ParsedArguments.Parse(args, new HashSet<string> { "accelerator", "precision", "fixtures", "json" }, new HashSet<string>());
        if (parsed.WantsHelp)
        {
            Console.WriteLine(Help);
            return 0;
        }

        if (parsed.Positionals.Count > 0)
        {
            throw new UsageException($"cct check takes no arguments, got '{parsed.Positionals[0]}'");
        }

        var kind = ModelOptions.Accelerator(parsed);
        var precision = ModelOptions.Precision(parsed);

        // Fixtures first: a bundle without them is an error before minutes of kernels, not after.
        var fixtures = loadFixtures(parsed.String("fixtures") ?? DeviceCheck.DefaultFixtureFolder);

        using var target = ModelOptions.Device(kind, precision);
        using var reference = ComputeDevice.Create(AcceleratorKind.Cpu);
        Console.WriteLine($"cct check: {DeviceCheck.Describe(target)}{(precision == GemmPrecision.Fp32 ? string.Empty : $", Linear products in {precision.ToString().ToLowerInvariant()}")} against the {DeviceCheck.Describe(reference)} and the PyTorch fixtures");

        var clock = Stopwatch.StartNew();
        var rows = new List<CheckRow>(compareKernels(target, reference));
        var kernelSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        // The fixtures' bounds are fp32's (Tolerance.Model, against PyTorch's float64), which 3xTF32 meets and TF32 and
        // bf16 by design do not: in those the model rows run on the same device in fp32, and the kernel rows above
        // (bounded for the precision) are what checks the tensor cores.
        if (precision is GemmPrecision.Tf32 or GemmPrecision.Bf16)
        {
            Console.WriteLine($"cct check: the model rows run in fp32: their PyTorch float64 bounds are fp32's, which {precision.ToString().ToLowerInvariant()} does not claim");
            using var fp32 = ModelOptions.Device(kind, GemmPrecision.Fp32);
            rows.AddRange(DeviceCheck.CompareModels(fp32, fixtures));
        }
        else
        {
            rows.AddRange(DeviceCheck.CompareModels(target, fixtures));
        }

        var modelSeconds = clock.Elapsed.TotalSeconds;

        Terminal().Write(Table(rows));
        foreach (var row in rows.Where(r => r.Note is not null))
        {
            Console.WriteLine($"note: {row.Op}: {row.Note}");
        }

        var failed = rows.Count(r => !r.Pass);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rows.Count - failed} of {rows.Count} checks pass (kernels {kernelSeconds:F1} s, model {modelSeconds:F1} s)"));
        if (parsed.String("json") is { } json)
        {
            AtomicFile.WriteAllBytes(json, Json(target, reference, rows));
        }

        if (failed > 0 || rows.Count == 0)
        {
            Console.Error.WriteLine($"cct: check failed: {failed} of {rows.Count} checks fail on {DeviceCheck.Describe(target)}");
            return 1;
        }

        return 0;
    }

    private static Table Table(IEnumerable<CheckRow> rows)
    {
        var table = new Table().AddColumns("op", "max abs error", "max rel error", "tolerance", "pass");
        table.Columns[1].RightAligned();
        table.Columns[2].RightAligned();
        foreach (var row in rows)
        {
            table.AddRow(Markup.Escape(row.Op), Number(row.MaxAbs), Number(row.MaxRel), Markup.Escape(row.Tolerance.ToString()), row.Pass ? "pass" : "[red]FAIL[/]");
        }

        return table;
    }

    private static string Number(double value) => double.IsPositiveInfinity(value) ? "inf" : value.ToString("0.00e+00", CultureInfo.InvariantCulture);

    // Utf8JsonWriter rather than reflection-based serialisation: the bundle is trimmed.
    private static byte[] Json(ComputeDevice target, ComputeDevice reference, IReadOnlyList<CheckRow> rows)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("accelerator", target.Kind.ToString().ToLowerInvariant());
            writer.WriteString("precision", target.Precision.ToString().ToLowerInvariant());
            writer.WriteString("device", target.Name);
            writer.WriteString("reference", DeviceCheck.Describe(reference));
            writer.WriteBoolean("passed", rows.Count > 0 && rows.All(r => r.Pass));
            writer.WriteStartArray("rows");
            foreach (var row in rows)
            {
                writer.WriteStartObject();
                writer.WriteString("op", row.Op);
                WriteNumber(writer, "max_abs_error", row.MaxAbs);
                WriteNumber(writer, "max_rel_error", row.MaxRel);
                writer.WriteNumber("atol", row.Tolerance.Atol);
                writer.WriteNumber("rtol", row.Tolerance.Rtol);
                writer.WriteBoolean("pass", row.Pass);
                if (row.Note is not null)
                {
                    writer.WriteString("note", row.Note);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return stream.ToArray();
    }

    // JSON has no infinity: a non-finite error (NaN on one side only) is written as null.
    private static void WriteNumber(Utf8JsonWriter writer, string name, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumber(name, value);
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
