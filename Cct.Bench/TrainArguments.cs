using System.Globalization;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;

namespace Cct.Bench;

/// <summary>Parses "train" and "ops" mode arguments (ops reads --model, --batch and --accelerator); every error is one line naming the bad argument.</summary>
internal static class TrainArguments
{
    public static bool TryParse(string[] args, out TrainBenchOptions options, out string error)
    {
        options = new TrainBenchOptions("", 128, AcceleratorKind.Auto, 20, 5, 3, 3, null);
        error = "";
        for (var i = 1; i < args.Length; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Length)
            {
                error = name.StartsWith("--", StringComparison.Ordinal) ? $"{name} needs a value" : $"unexpected argument '{name}'";
                return false;
            }

            var value = args[++i];
            switch (name)
            {
                case "--model":
                    if (!CctConfig.PresetNames.Contains(value))
                    {
                        error = $"unknown model preset '{value}'; known: {string.Join(", ", CctConfig.PresetNames)}";
                        return false;
                    }

                    options = options with { Model = value };
                    break;
                case "--accelerator":
                    if (!BenchOptions.TryParseAccelerator(value, out var kind, out error))
                    {
                        return false;
                    }

                    options = options with { Accelerator = kind };
                    break;
                case "--json":
                    options = options with { JsonPath = value };
                    break;
                case "--batch" or "--steps" or "--warmup" or "--repeats" or "--profile-steps":
                    var minimum = name == "--warmup" ? 0 : 1;
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < minimum)
                    {
                        error = $"{name} must be a whole number ≥ {minimum}, not '{value}'";
                        return false;
                    }

                    options = name switch
                    {
                        "--batch" => options with { Batch = number },
                        "--steps" => options with { Steps = number },
                        "--warmup" => options with { Warmup = number },
                        "--repeats" => options with { Repeats = number },
                        _ => options with { ProfileSteps = number },
                    };
                    break;
                default:
                    error = $"unknown option '{name}'";
                    return false;
            }
        }

        if (options.Model.Length == 0)
        {
            error = $"{args[0]} needs --model";
            return false;
        }

        return true;
    }
}
