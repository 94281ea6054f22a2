using System.Globalization;
using Cct.CommandLine;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Checkpoints;
using Cct.Training.Reports;
using Cct.Training.Training;

namespace Cct.Cli;

/// <summary>`cct eval`: a checkpoint (or any model file CctModel.Load reads) on the test set → report/ (json, PNGs) and a classification table.</summary>
internal static class EvalCommand
{
    private const int EvalBatch = 256;

    public static int Run(string[] args)
    {
        var parsed = ParsedArguments.Parse(args, new HashSet<string> { "checkpoint", "data", "out", "accelerator", "test-limit" }, new HashSet<string>());
        if (parsed.WantsHelp)
        {
            Console.WriteLine("usage: cct eval --checkpoint FILE [--data DIR] [--out DIR] [--test-limit N] [--accelerator auto|cuda|opencl|cpu]\n  Writes DIR/report/ (default: the checkpoint's folder): report.json, confusion.png, roc.png, samples.png, attention.png, curves.png.");
            return 0;
        }

        var path = parsed.String("checkpoint") ?? throw new UsageException("--checkpoint FILE is required");
        var spec = Checkpoint.DatasetOf(path);
        var runFolder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        var output = parsed.String("out") ?? runFolder;
        var limit = parsed.Int("test-limit", 0, 0);

        // The model first: a file that is not one is an error before any data is looked for or downloaded.
        using var device = ComputeDevice.Create(ModelOptions.Accelerator(parsed));
        using var model = CctModel.Load(device, path, EvalBatch);
        var testSet = ConsoleData.Load(spec, parsed.String("data")).Test;
        if (limit > 0)
        {
            testSet = testSet.Take(limit);
        }

        var report = EvaluationReport.Write(Path.Combine(output, RunFolder.ReportFolderName), model, testSet, RunFolder.ReadEpochs(runFolder));
        Console.WriteLine(report.Table);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy {report.Evaluation.Accuracy * 100:F2}% on {testSet.Count} images; report in {report.Folder}"));
        return 0;
    }
}
