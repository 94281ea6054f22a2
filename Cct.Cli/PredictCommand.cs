using System.Globalization;
using Cct.CommandLine;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Checkpoints;
using Cct.Training.Data;

namespace Cct.Cli;

/// <summary>`cct predict`: PNG files → top-3 classes with probabilities. A bad file is reported and skipped.</summary>
internal static class PredictCommand
{
    public static int Run(string[] args)
    {
        var parsed = ParsedArguments.Parse(args, new HashSet<string> { "checkpoint", "accelerator", "precision", "top" }, new HashSet<string>());
        if (parsed.WantsHelp)
        {
            Console.WriteLine("usage: cct predict --checkpoint FILE [--top 3] IMAGE.png [IMAGE.png ...]\n  " + ImagePreprocessor.Description);
            return 0;
        }

        var path = parsed.String("checkpoint") ?? throw new UsageException("--checkpoint FILE is required");
        if (parsed.Positionals.Count == 0)
        {
            throw new UsageException("give at least one PNG image to classify");
        }

        var top = parsed.Int("top", 3, 1);
        var spec = Checkpoint.DatasetOf(path);

        // Every file is decoded before the device starts, so bad files alone cost no accelerator.
        var images = new List<(string File, byte[] Pixels)>();
        var failures = 0;
        foreach (var file in parsed.Positionals)
        {
            try
            {
                images.Add((file, ImagePreprocessor.Load(file, DatasetSpec.ImageRows)));
            }
            catch (InvalidDataException e)
            {
                Console.Error.WriteLine($"cct: error: {e.Message}");
                failures++;
            }
        }

        if (images.Count == 0)
        {
            return 1;
        }

        using var device = ModelOptions.Device(parsed);
        using var model = CctModel.Load(device, path, maxBatch: 1);
        if (model.Config.ImageSize != DatasetSpec.ImageRows || model.Config.InChannels != 1)
        {
            throw new UsageException($"{path}: the model takes {model.Config.InChannels}x{model.Config.ImageSize}x{model.Config.ImageSize} images; cct predict gives it {DatasetSpec.ImageRows}x{DatasetSpec.ImageCols} grey ones");
        }

        foreach (var (file, pixels) in images)
        {
            var ranked = model.Predict(pixels)[0].Top(top);
            Console.WriteLine($"{file}: " + string.Join(", ", ranked.Select(r => string.Create(CultureInfo.InvariantCulture, $"{spec.ClassNames[r.Label]} {r.Probability * 100:F1}%"))));
        }

        return failures == 0 ? 0 : 1;
    }
}
