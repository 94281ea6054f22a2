using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Cct.Gpu.Runtime;

namespace Cct.Bench;

/// <summary>The "kernels" mode: validate each case against the host, then time it.</summary>
internal static class KernelBench
{
    private const int Samples = 5;
    private const double MinSampleSeconds = 0.02;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,

        // Shapes such as "64x128->256" stay readable; the file is never embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static int Run(KernelBenchOptions options)
    {
        using var device = ComputeDevice.Create(options.Accelerator);
        Console.WriteLine($"device: {device.Name} ({device.Kind.ToString().ToLowerInvariant()}), size {options.Size.ToString().ToLowerInvariant()}");
        Console.WriteLine($"{"case",-18} {"shape",-18} {"median ms",10} {"runs",6} {"GFLOP/s",9} {"GB/s",8} {"max err",9}");
        var results = new List<CaseResult>();
        foreach (var benchCase in KernelCases.For(options.Size))
        {
            if (benchCase.AppliesTo is { } applies && !applies(device))
            {
                Console.WriteLine($"{benchCase.Name,-18} {benchCase.Shape,-18} skipped: does not suit this accelerator");
                continue;
            }

            var result = RunCase(benchCase, device);
            results.Add(result);
            Console.WriteLine(result.Error is null
                ? $"{result.Name,-18} {result.Shape,-18} {result.MedianMs,10:F3} {result.Runs,6} {Format(result.GflopPerSecond, "F2"),9} {Format(result.GbPerSecond, "F3"),8} {result.MaxError,9:G2}"
                : $"{result.Name,-18} {result.Shape,-18} FAILED validation: {result.Error}");
        }

        if (options.JsonPath is { } path)
        {
            var report = new KernelReport(device.Name, device.Kind.ToString().ToLowerInvariant(), options.Size.ToString().ToLowerInvariant(), DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture), results);
            File.WriteAllText(path, JsonSerializer.Serialize(report, Json));
            Console.WriteLine($"wrote {path}");
        }

        return results.Any(r => r.Error is not null) ? 1 : 0;
    }

    private static CaseResult RunCase(BenchCase benchCase, ComputeDevice device)
    {
        using var prepared = benchCase.Prepare(device);
        double maxError;
        try
        {
            maxError = prepared.Validate();
        }
        catch (ValidationException e)
        {
            return new CaseResult(benchCase.Name, benchCase.Shape, null, 1, null, null, null, e.Message);
        }

        var (seconds, runs) = Timing.MedianSeconds(prepared.Run, device, Samples, MinSampleSeconds);
        return new CaseResult(
            benchCase.Name,
            benchCase.Shape,
            seconds * 1e3,
            runs,
            benchCase.Flops > 0 ? benchCase.Flops / seconds / 1e9 : null,
            benchCase.Bytes > 0 ? benchCase.Bytes / seconds / 1e9 : null,
            maxError,
            null);
    }

    private static string Format(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
}
