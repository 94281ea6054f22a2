using System.Globalization;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Checkpoints;
using Cct.Training.Data;
using Cct.Training.Training;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Cli;

/// <summary>`cct predict`: PNG files → top-3 classes with probabilities. A bad file is reported and skipped.</summary>
internal static class PredictCommand
{
    public static int Run(string[] args)
    {
        var parsed = ParsedArguments.Parse(args, new HashSet<string> { "checkpoint", "accelerator", "top" }, new HashSet<string>());
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
        var checkpoint = Checkpoint.Load(path);
        var spec = DatasetSpec.Parse(checkpoint.Options.Dataset);
        var config = checkpoint.Config;

        // Every file is decoded before the device starts, so bad files alone cost no accelerator.
        var images = new List<(string File, byte[] Pixels)>();
        var failures = 0;
        foreach (var file in parsed.Positionals)
        {
            try
            {
                images.Add((file, ImagePreprocessor.Load(file, config.ImageSize)));
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

        using var device = ComputeDevice.Create(ModelOptions.Accelerator(parsed));
        using var model = new CctModel(device, config, 1);
        checkpoint.Restore(model, optimizer: false);
        using var input = device.Allocate((long)config.ImageSize * config.ImageSize);
        var logits = new float[config.Classes];
        var (mean, std) = spec.Normalization(model.Config);
        foreach (var (file, pixels) in images)
        {
            var normalised = pixels.Select(p => ((p / 255f) - mean) / std).ToArray();
            input.View.SubView(0, normalised.Length).CopyFromCPU(normalised);
            model.Forward(input.View, 1, train: false).CopyToCPU(logits);
            var max = logits.Max();
            var exp = logits.Select(l => Math.Exp(l - max)).ToArray();
            var sum = exp.Sum();
            var ranked = exp.Select((e, k) => (Probability: e / sum, Class: k)).OrderByDescending(x => x.Probability).Take(top);
            Console.WriteLine($"{file}: " + string.Join(", ", ranked.Select(r => string.Create(CultureInfo.InvariantCulture, $"{spec.ClassNames[r.Class]} {r.Probability * 100:F1}%"))));
        }

        return failures == 0 ? 0 : 1;
    }
}
