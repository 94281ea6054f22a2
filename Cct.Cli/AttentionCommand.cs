using System.Globalization;
using Cct.CommandLine;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Checkpoints;
using Cct.Training.Data;
using Cct.Training.Reports;

namespace Cct.Cli;

/// <summary>
/// `cct attention`: where a checkpoint's model looks in each PNG. Writes IMAGE.attention.png (input, map,
/// overlay, colour bar) per image and prints the top-3 classes; a bad file is reported and the rest still run.
/// </summary>
internal static class AttentionCommand
{
    private const int Top = 3;

    public static int Run(string[] args)
    {
        var parsed = ParsedArguments.Parse(args, new HashSet<string> { "checkpoint", "accelerator", "precision", "out" }, new HashSet<string> { "rollout" });
        if (parsed.WantsHelp)
        {
            Console.WriteLine("""
                usage: cct attention --checkpoint FILE [--out DIR] [--rollout] IMAGE.png [IMAGE.png ...]
                  Writes DIR/NAME.attention.png per image (default DIR: the image's folder): the input, the map on the
                  token grid and the two overlaid, with a colour bar; prints the top-3 classes.
                  The map is the sequence-pooling weights (where the classifier reads), or with --rollout (always for
                  mean-pooling models) the attention rollout of those weights back through every block to the input.
                """ + "  " + ImagePreprocessor.Description);
            return 0;
        }

        var path = parsed.String("checkpoint") ?? throw new UsageException("--checkpoint FILE is required");
        if (parsed.Positionals.Count == 0)
        {
            throw new UsageException("give at least one PNG image");
        }

        var outDirectory = parsed.String("out");
        var spec = Checkpoint.DatasetOf(path);
        if (outDirectory is not null)
        {
            Directory.CreateDirectory(outDirectory);
        }

        using var device = ModelOptions.Device(parsed);
        using var model = CctModel.Load(device, path, maxBatch: 1);
        var rollout = parsed.Flag("rollout") || model.Config.Pooling == PoolingKind.Mean;
        var failures = 0;
        foreach (var file in parsed.Positionals)
        {
            byte[] pixels;
            try
            {
                pixels = ImagePreprocessor.Load(file, model.Config.ImageSize);
            }
            catch (InvalidDataException e)
            {
                Console.Error.WriteLine($"cct: error: {e.Message}");
                failures++;
                continue;
            }

            var map = model.AttentionMaps(pixels)[0];
            var ranked = map.Probabilities.Select((p, k) => (Probability: p, Class: k)).OrderByDescending(x => x.Probability).Take(Top).ToList();
            var classes = string.Join(", ", ranked.Select(r => string.Create(CultureInfo.InvariantCulture, $"{spec.ClassNames[r.Class]} {r.Probability * 100:F1}%")));
            var title = string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(file)}: {spec.ClassNames[ranked[0].Class]} {ranked[0].Probability * 100:F1}%");
            var target = Path.Combine(outDirectory ?? Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".", Path.GetFileNameWithoutExtension(file) + ".attention.png");
            AttentionPlot.Write(target, pixels, map, rollout, title);
            Console.WriteLine($"{file}: {classes} -> {target}");
        }

        return failures == 0 ? 0 : 1;
    }
}
