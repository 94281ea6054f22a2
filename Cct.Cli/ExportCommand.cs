using Cct.CommandLine;

using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Checkpoints;
using Cct.Training.Export;

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

        var spec = Checkpoint.DatasetOf(path);
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        using var model = CctModel.Load(device, path, maxBatch: 1);
        var c = model.Config;
        var bytes = OnnxExport.Save(model, spec, output);
        Console.WriteLine($"wrote {output} ({bytes / 1048576.0:F1} MiB, opset 17): input images (batch, {c.InChannels}, {c.ImageSize}, {c.ImageSize}), output logits (batch, {c.Classes})");
        return 0;
    }
}
