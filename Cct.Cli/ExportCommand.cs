using System.Globalization;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Checkpoints;
using Cct.Training.Data;
using Cct.Training.Export;
using Cct.Training.Reports;
using Cct.Training.Training;

namespace Cct.Cli;

/// <summary>`cct export`: a checkpoint as an ONNX model (the seed notebook's torch.onnx.export), for ONNX Runtime and friends.</summary>
internal static class ExportCommand
{
    public static int Run(string[] args)
    {
        var parsed = ParsedArguments.Parse(args, new HashSet<string> { "checkpoint", "out" }, new HashSet<string>());
        if (parsed.WantsHelp)
        {
            Console.WriteLine("""
                usage: cct export --checkpoint FILE --out MODEL.onnx
                  ONNX opset 17, inference graph. Input "images" (batch, C, H, W) normalised as in training
                  ((pixel / 255 − mean) / std, both in the model's metadata with the class names); output "logits".
                """);
            return 0;
        }

        var path = parsed.String("checkpoint") ?? throw new UsageException("--checkpoint FILE is required");
        var output = parsed.String("out") ?? throw new UsageException("--out MODEL.onnx is required");
        if (parsed.Positionals.Count > 0)
        {
            throw new UsageException($"unexpected argument '{parsed.Positionals[0]}'");
        }

        var checkpoint = Checkpoint.Load(path);
        var spec = DatasetSpec.Parse(checkpoint.Options.Dataset);
        var bytes = Export(checkpoint, spec);
        AtomicFile.WriteAllBytes(output, bytes);
        Console.WriteLine($"wrote {output} ({bytes.Length / 1048576.0:F1} MiB, opset 17): input images (batch, {checkpoint.Config.InChannels}, {checkpoint.Config.ImageSize}, {checkpoint.Config.ImageSize}), output logits (batch, {checkpoint.Config.Classes})");
        return 0;
    }

    /// <summary>The ONNX bytes of a checkpoint, read through a model on the CPU accelerator.</summary>
    internal static byte[] Export(Checkpoint checkpoint, DatasetSpec spec)
    {
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        using var model = new CctModel(device, checkpoint.Config, maxBatch: 1);
        checkpoint.Restore(model, optimizer: false);
        return Export(model, spec);
    }

    internal static byte[] Export(CctModel model, DatasetSpec spec)
    {
        var (mean, std) = spec.Normalization(model.Config);
        var metadata = new Dictionary<string, string>
        {
            ["cct.config"] = model.Config.ToJson(),
            ["normalise.mean"] = mean.ToString("R", CultureInfo.InvariantCulture),
            ["normalise.std"] = std.ToString("R", CultureInfo.InvariantCulture),
            ["classes"] = string.Join(",", spec.ClassNames),
        };
        return new OnnxExporter(model.Config, model.Parameters.ReadValue, model.ReadBuffer).Export(metadata);
    }
}
