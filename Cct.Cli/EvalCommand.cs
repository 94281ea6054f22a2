using System.Globalization;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Checkpoints;
using Cct.Training.Data;
using Cct.Training.Reports;
using Cct.Training.Training;

namespace Cct.Cli;

/// <summary>`cct eval`: a checkpoint on the test set → report/ (json, PNGs) and a classification table.</summary>
internal static class EvalCommand
{
    private const int EvalBatch = 256;
    private const int AttentionSamplesInReport = 16;

    public static int Run(string[] args)
    {
        var parsed = ParsedArguments.Parse(args, new HashSet<string> { "checkpoint", "data", "out", "accelerator", "test-limit" }, new HashSet<string>());
        if (parsed.WantsHelp)
        {
            Console.WriteLine("usage: cct eval --checkpoint FILE [--data DIR] [--out DIR] [--test-limit N] [--accelerator auto|cuda|opencl|cpu]\n  Writes DIR/report/ (default: the checkpoint's folder): report.json, confusion.png, roc.png, samples.png, attention.png, curves.png.");
            return 0;
        }

        var path = parsed.String("checkpoint") ?? throw new UsageException("--checkpoint FILE is required");
        var checkpoint = Checkpoint.Load(path);
        var runFolder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        var output = parsed.String("out") ?? runFolder;
        var spec = DatasetSpec.Parse(checkpoint.Options.Dataset);
        var files = TrainCommand.ResolveData(spec, parsed.String("data"));
        var testSet = files.LoadTest(spec);
        var limit = parsed.Int("test-limit", 0, 0);
        if (limit > 0)
        {
            testSet = testSet.Take(limit);
        }

        using var device = ComputeDevice.Create(ModelOptions.Accelerator(parsed));
        using var model = new CctModel(device, checkpoint.Config, EvalBatch);
        checkpoint.Restore(model, optimizer: false);
        using var test = new DeviceDataset(device, testSet);
        using var evaluator = new Evaluator(device, model);
        var (mean, std) = spec.Normalization(model.Config);
        var evaluation = evaluator.Run(test, mean, std);
        Console.WriteLine(WriteReport(Path.Combine(output, "report"), evaluation, testSet, runFolder, model, spec));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy {evaluation.Accuracy * 100:F2}% on {testSet.Count} images; report in {Path.Combine(output, "report")}"));
        return 0;
    }

    /// <summary>
    /// Writes report/ from an evaluation, with training curves when the run folder has metrics.jsonl and the
    /// attention maps of 16 test images (half right, half wrong where there are wrong ones) from <paramref name="model"/>.
    /// </summary>
    internal static string WriteReport(string reportDirectory, Evaluation evaluation, ImageDataset testSet, string runFolder, CctModel model, DatasetSpec spec)
    {
        var metricsPath = Path.Combine(runFolder, MetricsLog.FileName);
        var epochs = File.Exists(metricsPath) ? MetricsLog.Read(metricsPath).Epochs : null;
        var chosen = SampleGrid.Choose(evaluation.Labels, evaluation.Predictions, AttentionSamplesInReport);
        var (mean, std) = spec.Normalization(model.Config);
        var images = chosen.SelectMany(i => testSet.Image(i).ToArray()).Select(p => ((p / 255f) - mean) / std).ToArray();
        var maps = model.AttentionMaps(images);
        var rollout = model.Config.Pooling == PoolingKind.Mean;
        var attention = new AttentionSamples(chosen, maps.SelectMany(m => rollout ? m.Rollout : m.Pooling).ToArray(), model.Config.TokenSide, AttentionCommand.MapName(rollout));
        var input = new ReportInput(testSet.ClassNames, evaluation.Labels, evaluation.Predictions, evaluation.Probabilities, testSet.Pixels, epochs, attention);
        return ReportWriter.Write(reportDirectory, input);
    }
}
