using System.Globalization;
using Cct.CommandLine;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Spectre.Console;

namespace Cct.Cli;

/// <summary>`cct devices` and `cct summary`.</summary>
internal static class InfoCommands
{
    // Bound to the current Console.Out on each call (AnsiConsole's static instance captures the first one).
    private static IAnsiConsole Terminal() => AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });

    public static int Devices(string[] args)
    {
        var parsed = ParsedArguments.Parse(args, new HashSet<string> { "accelerator" }, new HashSet<string>());
        if (parsed.WantsHelp)
        {
            Console.WriteLine("usage: cct devices\n  Lists CUDA, OpenCL and CPU accelerators; 'auto' takes the first.");
            return 0;
        }

        _ = ModelOptions.Accelerator(parsed);
        var devices = ComputeDevice.List();
        var table = new Table().AddColumns("kind", "name", "memory", "max group", "auto");
        for (var i = 0; i < devices.Count; i++)
        {
            var d = devices[i];
            table.AddRow(d.Kind.ToString().ToLowerInvariant(), Markup.Escape(d.Name), string.Create(CultureInfo.InvariantCulture, $"{d.MemoryBytes / (1024.0 * 1024 * 1024):F1} GiB"), d.MaxGroupSize.ToString(CultureInfo.InvariantCulture), i == 0 ? "yes" : string.Empty);
        }

        Terminal().Write(table);
        return 0;
    }

    public static int Summary(string[] args)
    {
        var parsed = ParsedArguments.Parse(args, new HashSet<string>(ModelOptions.Overrides) { "model", "accelerator" }, new HashSet<string>());
        if (parsed.WantsHelp)
        {
            Console.WriteLine($"usage: cct summary [--model {string.Join("|", CctConfig.PresetNames)}] [--layers N --heads N --dim N --mlp-ratio X --conv-layers N --mid-channels N --kernel K --pos-emb learnable|sine|none --pool seq|mean]");
            return 0;
        }

        _ = ModelOptions.Accelerator(parsed); // accepted everywhere, validated even where unused
        var config = ModelOptions.Apply(CctConfig.Preset(ModelOptions.Preset(parsed, "cct-7/3x1")), parsed);
        var table = new Table().AddColumns("layer", "output shape", "params");
        table.Columns[2].RightAligned();
        long total = 0;
        foreach (var row in CctModel.Summary(config))
        {
            total += row.Parameters;
            table.AddRow(Markup.Escape(row.Layer), row.Shape, row.Parameters.ToString("N0", CultureInfo.InvariantCulture));
        }

        Terminal().Write(table);
        Console.WriteLine($"total parameters: {total.ToString("N0", CultureInfo.InvariantCulture)}; tokens: {config.Tokens} of width {config.Dim}");
        return 0;
    }
}
