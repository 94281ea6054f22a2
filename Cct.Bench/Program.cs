using Cct.Gpu.Runtime;

namespace Cct.Bench;

/// <summary>
/// Kernel timing harness. "kernels" times every benchmark case on one accelerator; "cpu-shapes"
/// compares shapes of ILGPU's CPU simulator (docs/cpu-accelerator.md).
/// </summary>
public static class Program
{
    private const string Usage = "usage: cct-bench kernels [--accelerator auto|cuda|opencl|cpu] [--size small|cct] [--json FILE] | cct-bench cpu-shapes";

    public static int Main(string[] args)
    {
        if (args is ["--help"] or ["-h"])
        {
            Console.WriteLine(Usage);
            return 0;
        }

        if (!BenchOptions.TryParse(args, out var options, out var error))
        {
            Console.Error.WriteLine($"cct-bench: {error}; {Usage}");
            return 2;
        }

        try
        {
            return options.Mode == BenchMode.CpuShapes ? CpuShapes.Run() : KernelBench.Run(options);
        }
        catch (AcceleratorUnavailableException e)
        {
            Console.Error.WriteLine($"cct-bench: {e.Message}");
            return 1;
        }
    }
}

internal enum BenchMode
{
    Kernels,
    CpuShapes,
}

internal sealed record BenchOptions(BenchMode Mode, AcceleratorKind Accelerator, BenchSize Size, string? JsonPath)
{
    /// <summary>Parses the command line by hand; on failure <paramref name="error"/> is one line naming the bad argument.</summary>
    public static bool TryParse(string[] args, out BenchOptions options, out string error)
    {
        options = new BenchOptions(BenchMode.Kernels, AcceleratorKind.Auto, BenchSize.Small, null);
        error = "";
        if (args.Length == 0)
        {
            error = "missing mode";
            return false;
        }

        switch (args[0])
        {
            case "cpu-shapes":
                options = options with { Mode = BenchMode.CpuShapes };
                if (args.Length > 1)
                {
                    error = $"cpu-shapes takes no options, got '{args[1]}'";
                    return false;
                }

                return true;
            case "kernels":
                break;
            default:
                error = $"unknown mode '{args[0]}'";
                return false;
        }

        for (var i = 1; i < args.Length; i++)
        {
            var name = args[i];
            if (name is not ("--accelerator" or "--size" or "--json"))
            {
                error = $"unknown option '{name}'";
                return false;
            }

            if (i + 1 >= args.Length)
            {
                error = $"{name} needs a value";
                return false;
            }

            var value = args[++i];
            switch (name)
            {
                case "--accelerator":
                    AcceleratorKind? kind = value switch
                    {
                        "auto" => AcceleratorKind.Auto,
                        "cuda" => AcceleratorKind.Cuda,
                        "opencl" => AcceleratorKind.OpenCL,
                        "cpu" => AcceleratorKind.Cpu,
                        _ => null,
                    };
                    if (kind is null)
                    {
                        error = $"--accelerator must be auto, cuda, opencl or cpu, not '{value}'";
                        return false;
                    }

                    options = options with { Accelerator = kind.Value };
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
}
