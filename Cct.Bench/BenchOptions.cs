using System.Globalization;
using Cct.Gpu.Runtime;

namespace Cct.Bench;

/// <summary>Parsed command line; <see cref="Shapes"/> (cpu-shapes only) replaces the default shape list when not empty.</summary>
internal sealed record BenchOptions(BenchMode Mode, AcceleratorKind Accelerator, BenchSize Size, string? JsonPath, IReadOnlyList<(int Warp, int Warps, int Multiprocessors)> Shapes)
{
    /// <summary>Parses the command line by hand; on failure <paramref name="error"/> is one line naming the bad argument.</summary>
    public static bool TryParse(string[] args, out BenchOptions options, out string error)
    {
        options = new BenchOptions(BenchMode.Kernels, AcceleratorKind.Auto, BenchSize.Small, null, []);
        error = "";
        if (args.Length == 0)
        {
            error = "missing mode";
            return false;
        }

        switch (args[0])
        {
            case "cpu-shapes":
                return TryParseShapes(args, ref options, out error);
            case "kernels":
                break;
            default:
                error = $"unknown mode '{args[0]}'";
                return false;
        }

        for (var i = 1; i < args.Length; i++)
        {
            var name = args[i];
            if (!TryTakeValue(args, ref i, ["--accelerator", "--size", "--json"], "option", out var value, out error))
            {
                return false;
            }

            switch (name)
            {
                case "--accelerator":
                    if (!TryParseAccelerator(value, out var kind, out error))
                    {
                        return false;
                    }

                    options = options with { Accelerator = kind };
                    break;
                case "--size":
                    BenchSize? size = value switch
                    {
                        "small" => BenchSize.Small,
                        "cct" => BenchSize.Cct,
                        _ => null,
                    };
                    if (size is null)
                    {
                        error = $"--size must be small or cct, not '{value}'";
                        return false;
                    }

                    options = options with { Size = size.Value };
                    break;
                default:
                    options = options with { JsonPath = value };
                    break;
            }
        }

        return true;
    }

    /// <summary>
    /// The value after option <c>args[i]</c>, which must be one of <paramref name="known"/>; advances <paramref name="i"/>
    /// past it. On failure <paramref name="error"/> names the unknown option (as a <paramref name="kind"/>) or the missing value.
    /// </summary>
    public static bool TryTakeValue(string[] args, ref int i, IReadOnlyCollection<string> known, string kind, out string value, out string error)
    {
        var name = args[i];
        value = "";
        error = "";
        if (!known.Contains(name))
        {
            error = $"unknown {kind} '{name}'";
            return false;
        }

        if (i + 1 >= args.Length)
        {
            error = $"{name} needs a value";
            return false;
        }

        value = args[++i];
        return true;
    }

    /// <summary>--accelerator's value, shared by every mode; on failure <paramref name="error"/> is one line.</summary>
    public static bool TryParseAccelerator(string value, out AcceleratorKind kind, out string error)
    {
        AcceleratorKind? parsed = value switch
        {
            "auto" => AcceleratorKind.Auto,
            "cuda" => AcceleratorKind.Cuda,
            "opencl" => AcceleratorKind.OpenCL,
            "cpu" => AcceleratorKind.Cpu,
            _ => null,
        };
        kind = parsed ?? AcceleratorKind.Auto;
        error = parsed is null ? $"--accelerator must be auto, cuda, opencl or cpu, not '{value}'" : "";
        return parsed is not null;
    }

    private static bool TryParseShapes(string[] args, ref BenchOptions options, out string error)
    {
        error = "";
        var shapes = new List<(int, int, int)>();
        for (var i = 1; i < args.Length; i += 2)
        {
            if (args[i] != "--shape")
            {
                error = $"unknown cpu-shapes option '{args[i]}'";
                return false;
            }

            var parts = i + 1 < args.Length ? args[i + 1].Split(',') : [];
            var numbers = parts.Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 0).ToArray();
            if (numbers.Length != 3 || numbers.Contains(0))
            {
                error = "--shape needs three positive integers WARP,WARPS,MPS";
                return false;
            }

            shapes.Add((numbers[0], numbers[1], numbers[2]));
        }

        options = options with { Mode = BenchMode.CpuShapes, Shapes = shapes };
        return true;
    }
}
