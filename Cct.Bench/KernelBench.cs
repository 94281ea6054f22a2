using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Cct.Gpu.Runtime;
using Cct.Training.Check;

namespace Cct.Bench;

/// <summary>
/// The "kernels" mode: each timed case of the kernel registry (<see cref="KernelCases.Timed"/>, built by the factories
/// of the cases <c>cct check</c> runs) is first compared on the target with the CPU accelerator under the check's own
/// rule and tolerances (at a batch the CPU runs in seconds), then its launches are replayed and timed.
/// </summary>
internal static class KernelBench
{
    private const int Samples = 5;
    private const double MinSampleSeconds = 0.02;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,

        // Names such as "linear 196x32→96+bias" stay readable; the file is never embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static int Run(KernelBenchOptions options)
    {
        using var device = ComputeDevice.Create(options.Accelerator, options.Precision);
        using var reference = ComputeDevice.Create(AcceleratorKind.Cpu);
        Console.WriteLine($"device: {device.Name} ({device.Kind.ToString().ToLowerInvariant()}), {device.Precision.ToString().ToLowerInvariant()} Linear products, size {options.Size.ToString().ToLowerInvariant()}, checked against {DeviceCheck.Describe(reference)}");
        Console.WriteLine($"{"case",-40} {"median ms",10} {"runs",6} {"GFLOP/s",9} {"GB/s",8} {"worst rel",9}");
        var results = new List<CaseResult>();
        foreach (var timed in KernelCases.Timed(modelScale: options.Size == BenchSize.Cct, device.Precision))
        {
            var result = RunCase(timed, device, reference);
            results.Add(result);
            Console.WriteLine(result.Error is null
                ? $"{result.Name,-40} {result.MedianMs,10:F3} {result.Runs,6} {Format(result.GflopPerSecond, "F2"),9} {Format(result.GbPerSecond, "F3"),8} {result.WorstRelativeError,9:G2}"
                : $"{result.Name,-40} FAILED validation: {result.Error}");
        }

        if (options.JsonPath is { } path)
        {
            var report = new KernelReport(device.Name, device.Kind.ToString().ToLowerInvariant(), options.Size.ToString().ToLowerInvariant(), DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture), results, device.Precision.ToString().ToLowerInvariant());
            File.WriteAllText(path, JsonSerializer.Serialize(report, Json));
            Console.WriteLine($"wrote {path}");
        }

        return results.Any(r => r.Error is not null) ? 1 : 0;
    }

    private static CaseResult RunCase(TimedKernelCase timed, ComputeDevice device, ComputeDevice reference)
    {
        var name = timed.Case.Name;
        var rows = DeviceCheck.CompareKernels(device, reference, [timed.Check]);
        if (rows.FirstOrDefault(r => !r.Pass) is { } failed)
        {
            return new CaseResult(name, null, 0, null, null, null, $"{failed.Op}: max abs {failed.MaxAbs:G3} > {failed.Tolerance}{(failed.Note is null ? string.Empty : $" ({failed.Note})")}");
        }

        using var scope = new DeviceScope(device);
        timed.Case.Run(scope);
        var launches = scope.Launches;
        var (seconds, runs) = Timing.MedianSeconds(() => Replay(launches), device, Samples, MinSampleSeconds);
        return new CaseResult(
            name,
            seconds * 1e3,
            runs,
            timed.Flops > 0 ? timed.Flops / seconds / 1e9 : null,
            timed.Bytes > 0 ? timed.Bytes / seconds / 1e9 : null,
            rows.Max(r => r.MaxRel),
            null);
    }

    private static void Replay(IReadOnlyList<Action> launches)
    {
        foreach (var launch in launches)
        {
            launch();
        }
    }

    private static string Format(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
}
