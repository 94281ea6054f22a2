using System.Globalization;
using Cct.CommandLine;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;

namespace Cct.Bench;

/// <summary>
/// Each mode's options, read with the parser `cct` uses (<see cref="ParsedArguments"/>): "--name value" or
/// "--name=value", checked against the mode's names. A bad argument is a <see cref="UsageException"/> naming it.
/// </summary>
internal static class BenchArguments
{
    private static readonly Dictionary<string, AcceleratorKind> Accelerators = new(StringComparer.Ordinal)
    {
        ["auto"] = AcceleratorKind.Auto,
        ["cuda"] = AcceleratorKind.Cuda,
        ["opencl"] = AcceleratorKind.OpenCL,
        ["cpu"] = AcceleratorKind.Cpu,
    };

    private static readonly Dictionary<string, BenchSize> Sizes = new(StringComparer.Ordinal)
    {
        ["small"] = BenchSize.Small,
        ["cct"] = BenchSize.Cct,
    };

    /// <summary>"kernels": --accelerator, --precision, --size, --json.</summary>
    public static KernelBenchOptions Kernels(IReadOnlyList<string> args)
    {
        var parsed = Parse(args, ["accelerator", "precision", "size", "json"], []);
        return new KernelBenchOptions(Accelerator(parsed), parsed.Choice("size", BenchSize.Small, Sizes), parsed.String("json"), Precision(parsed));
    }

    /// <summary>"cpu-shapes": the shapes given with --shape WARP,WARPS,MPS (empty for the default list).</summary>
    public static IReadOnlyList<(int Warp, int Warps, int Multiprocessors)> CpuShapes(IReadOnlyList<string> args)
        => Parse(args, ["shape"], []).Strings("shape").Select(Shape).ToList();

    /// <summary>"train" and "ops" (ops reads --model, --batch and --accelerator).</summary>
    public static TrainBenchOptions Train(string mode, IReadOnlyList<string> args)
    {
        var parsed = Parse(args, ["model", "batch", "accelerator", "steps", "warmup", "repeats", "profile-steps", "json", "attention", "precision"], ["cuda-graphs"]);
        var model = parsed.String("model") ?? throw new UsageException($"{mode} needs --model");
        if (!CctConfig.PresetNames.Contains(model))
        {
            throw new UsageException($"unknown model preset '{model}'; known: {string.Join(", ", CctConfig.PresetNames)}");
        }

        return new TrainBenchOptions(
            model,
            parsed.Int("batch", 128, min: 1),
            Accelerator(parsed),
            parsed.Int("steps", 20, min: 1),
            parsed.Int("warmup", 5, min: 0),
            parsed.Int("repeats", 3, min: 1),
            parsed.Int("profile-steps", 3, min: 1),
            parsed.String("json"),
            parsed.Choice("attention", true, new Dictionary<string, bool>(StringComparer.Ordinal) { ["fused"] = true, ["unfused"] = false }),
            Precision(parsed),
            parsed.Flag("cuda-graphs"));
    }

    /// <summary>"ptx": --ptxas, --cuobjdump and --out are required; --only (kernels whose name starts with it, to iterate on one) excludes --doc.</summary>
    public static PtxOptions Ptx(IReadOnlyList<string> args)
    {
        var parsed = Parse(args, ["ptxas", "cuobjdump", "out", "doc", "min-ffma-share", "min-ffma-share-every", "min-fused-ffma-share", "only"], ["check"]);
        string Required(string name) => parsed.String(name) ?? throw new UsageException($"ptx needs --{name}");
        return new PtxOptions(
            Required("ptxas"),
            Required("cuobjdump"),
            Required("out"),
            parsed.String("doc"),
            parsed.Flag("check"),
            parsed.Double("min-ffma-share", 0, 0, 1),
            parsed.Double("min-ffma-share-every", 0, 0, 1),
            parsed.Double("min-fused-ffma-share", 0, 0, 1),
            parsed.String("only") is not null && parsed.String("doc") is not null ? throw new UsageException("ptx --only writes a partial table: not with --doc") : parsed.String("only"));
    }

    private static ParsedArguments Parse(IReadOnlyList<string> args, string[] valueOptions, string[] flagOptions)
    {
        var parsed = ParsedArguments.Parse(args, new HashSet<string>(valueOptions, StringComparer.Ordinal), new HashSet<string>(flagOptions, StringComparer.Ordinal));
        return parsed.Positionals.Count > 0 ? throw new UsageException($"unexpected argument '{parsed.Positionals[0]}'") : parsed;
    }

    private static AcceleratorKind Accelerator(ParsedArguments parsed) => parsed.Choice("accelerator", AcceleratorKind.Auto, Accelerators);

    // Every GemmPrecision by its lower-case name, as cct's --precision.
    private static GemmPrecision Precision(ParsedArguments parsed)
        => parsed.Choice("precision", GemmPrecision.Fp32, Enum.GetValues<GemmPrecision>().ToDictionary(p => p.ToString().ToLowerInvariant(), StringComparer.Ordinal));

    private static (int, int, int) Shape(string text)
    {
        var numbers = text.Split(',').Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 0).ToArray();
        return numbers.Length == 3 && !numbers.Contains(0)
            ? (numbers[0], numbers[1], numbers[2])
            : throw new UsageException("--shape needs three positive integers WARP,WARPS,MPS");
    }
}
