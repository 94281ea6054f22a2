using System.Globalization;

namespace Cct.Bench;

/// <summary>Parses "ptx"'s command line by hand; on failure the error is one line naming the bad argument.</summary>
internal static class PtxArguments
{
    private static readonly string[] ValueOptions = ["--ptxas", "--cuobjdump", "--out", "--doc", "--min-ffma-share", "--min-ffma-share-every"];

    public static bool TryParse(string[] args, out PtxOptions options, out string error)
    {
        options = new PtxOptions("", "", "", null, false, 0, 0);
        error = "";
        for (var i = 1; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--check")
            {
                options = options with { Check = true };
                continue;
            }

            if (!BenchOptions.TryTakeValue(args, ref i, ValueOptions, "ptx option", out var value, out error))
            {
                return false;
            }

            switch (name)
            {
                case "--ptxas":
                    options = options with { Ptxas = value };
                    break;
                case "--cuobjdump":
                    options = options with { Cuobjdump = value };
                    break;
                case "--out":
                    options = options with { OutputDirectory = value };
                    break;
                case "--doc":
                    options = options with { DocPath = value };
                    break;
                default:
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var share) || share is < 0 or > 1)
                    {
                        error = $"{name} must be a number in [0, 1], not '{value}'";
                        return false;
                    }

                    options = name == "--min-ffma-share" ? options with { MinFfmaShare = share } : options with { MinFfmaShareEvery = share };
                    break;
            }
        }

        foreach (var (value, option) in new[] { (options.Ptxas, "--ptxas"), (options.Cuobjdump, "--cuobjdump"), (options.OutputDirectory, "--out") })
        {
            if (value.Length == 0)
            {
                error = $"ptx needs {option}";
                return false;
            }
        }

        return true;
    }
}
