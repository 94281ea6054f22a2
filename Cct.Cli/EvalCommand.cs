using System.Globalization;
using Cct.CommandLine;
using Cct.Gpu.IO;
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
        var parsed = ParsedArguments.Parse(args, new HashSet<string> { "checkpoint", "data", "out", "accelerator", "precision", "test-limit", "tta" }, new HashSet<string>());
        if (parsed.WantsHelp)
        {
            Console.WriteLine("usage: cct eval --checkpoint FILE [--data DIR] [--out DIR] [--test-limit N] [--tta none|flip|flip-translate] [--accelerator auto|cuda|opencl|cpu] [--precision fp32|tf32x3|tf32|bf16]\n  Writes DIR/report/ (default: the checkpoint's folder): report.json, confusion.png, roc.png, samples.png, attention.png, curves.png.\n  A checkpoint of a run with --ema is scored with its weight average; --tta defaults to the run's.");
            return 0;
        }

        var path = parsed.String("checkpoint") ?? throw new UsageException("--checkpoint FILE is required");
        var spec = Checkpoint.DatasetOf(path);
        var runFolder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        var output = parsed.String("out") ?? runFolder;
        var limit = parsed.Int("test-limit", 0, 0);

        // The model first: a file that is not one is an error before any data is looked for or downloaded.
        using var device = ModelOptions.Device(parsed);
        using var model = CctModel.Load(device, path, EvalBatch);
        var tta = TestTimeAugmentation.None;
        var averaged = false;
        if (SafeTensorsFile.Read(path).Metadata.TryGetValue("format", out var format) && format == "cct-checkpoint/1" && Checkpoint.Load(path) is var checkpoint)
        {
            // Score what the run's evaluations scored: its weight average and its test-time augmentation.
            tta = checkpoint.Options.Tta;
            if (checkpoint.HasWeightAverage)
            {
                checkpoint.RestoreWeightAverage(model);
                averaged = true;
            }
        }

        tta = parsed.Choice("tta", tta, TrainCommand.TtaChoices);
        var testSet = ConsoleData.Load(spec, parsed.String("data")).Test;
        if (limit > 0)
        {
            testSet = testSet.Take(limit);
        }

        var report = EvaluationReport.Write(Path.Combine(output, RunFolder.ReportFolderName), model, testSet, RunFolder.ReadEpochs(runFolder), tta);
        Console.WriteLine(report.Table);
        var how = (averaged ? " (EMA weights" : " (weights") + (tta == TestTimeAugmentation.None ? ")" : $", TTA {TrainCommand.TtaChoices.First(c => c.Value == tta).Key})");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy {report.Evaluation.Accuracy * 100:F2}% on {testSet.Count} images{how}; report in {report.Folder}"));
        return 0;
    }
}
