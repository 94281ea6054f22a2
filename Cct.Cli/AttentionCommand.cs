using System.Globalization;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Checkpoints;
using Cct.Training.Data;
using Cct.Training.Reports;
using Cct.Training.Training;

namespace Cct.Cli;

/// <summary>
/// `cct attention`: where a checkpoint's model looks in each PNG. Writes IMAGE.attention.png (input, map,
/// overlay, colour bar) per image and prints the top-3 classes; a bad file is reported and the rest still run.
/// </summary>
internal static class AttentionCommand
{
    private const int Top = 3;

    /// <summary>The header name of a map: the pooling weights, or their rollout through the blocks.</summary>
    internal static string MapName(bool rollout) => rollout ? "attention rollout" : "sequence pooling";

    public static int Run(string[] args)
    {
        var parsed = ParsedArguments.Parse(args, new HashSet<string> { "checkpoint", "accelerator", "out" }, new HashSet<string> { "rollout" });
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
        var checkpoint = Checkpoint.Load(path);
        var spec = DatasetSpec.Parse(checkpoint.Options.Dataset);
        var config = checkpoint.Config;
        var rollout = parsed.Flag("rollout") || config.Pooling == PoolingKind.Mean;
        if (outDirectory is not null)
        {
            Directory.CreateDirectory(outDirectory);
        }

        using var device = ComputeDevice.Create(ModelOptions.Accelerator(parsed));
        using var model = new CctModel(device, config, 1);
        checkpoint.Restore(model, optimizer: false);
        var failures = 0;
        foreach (var file in parsed.Positionals)
        {
            byte[] pixels;
            try
            {
                pixels = ImagePreprocessor.Load(file, config.ImageSize);
            }
            catch (InvalidDataException e)
            {
                Console.Error.WriteLine($"cct: error: {e.Message}");
                failures++;
                continue;
            }

            var (mean, std) = spec.Normalization(model.Config);
            var map = model.AttentionMaps(pixels.Select(p => ((p / 255f) - mean) / std).ToArray())[0];
            var ranked = map.Probabilities.Select((p, k) => (Probability: p, Class: k)).OrderByDescending(x => x.Probability).Take(Top).ToList();
            var classes = string.Join(", ", ranked.Select(r => string.Create(CultureInfo.InvariantCulture, $"{spec.ClassNames[r.Class]} {r.Probability * 100:F1}%")));
            var title = string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(file)}: {spec.ClassNames[ranked[0].Class]} {ranked[0].Probability * 100:F1}%");
            var png = AttentionPlot.Png(pixels, rollout ? map.Rollout : map.Pooling, map.GridSide, title, MapName(rollout));
            var target = Path.Combine(outDirectory ?? Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".", Path.GetFileNameWithoutExtension(file) + ".attention.png");
            AtomicFile.WriteAllBytes(target, png);
            Console.WriteLine($"{file}: {classes} -> {target}");
        }

        return failures == 0 ? 0 : 1;
    }
}
