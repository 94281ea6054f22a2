using System.Diagnostics.CodeAnalysis;
using Cct.Gpu.Model;
using Cct.Training.Data;
using Cct.Training.Training;

namespace Cct.Training.Reports;

/// <summary>
/// A model scored on a test set and written as a report folder: report.json (sklearn's classification report with
/// ROC AUCs), confusion.png, roc.png, samples.png, attention.png and, given the training history, curves.png.
/// </summary>
/// <param name="Evaluation">the model's predictions and scores on the test set</param>
/// <param name="Table">the classification report as sklearn prints it</param>
/// <param name="Folder">the folder written</param>
public sealed record EvaluationReport(Evaluation Evaluation, string Table, string Folder)
{
    private const int SampledAttentionMaps = 16;

    /// <summary>
    /// Scores <paramref name="model"/> on <paramref name="test"/> in eval mode and writes the report into
    /// <paramref name="folder"/> (created if needed; every file atomically), with the attention maps of 16 test images
    /// (half right, half wrong where there are wrong ones) and the curves of <paramref name="epochs"/> when given.
    /// </summary>
    /// <exception cref="ArgumentException">the test images or classes do not fit the model</exception>
    [SuppressMessage("ApiDesign", "RS0027:API with optional parameter(s) should have the most parameters amongst its public overloads", Justification = "Shipped in 0.1.0; the overload with test-time augmentation takes every argument explicitly.")]
    public static EvaluationReport Write(string folder, CctModel model, ImageDataset test, IReadOnlyList<EpochMetrics>? epochs = null)
        => Write(folder, model, test, epochs, TestTimeAugmentation.None);

    /// <summary>As the overload without <paramref name="tta"/>, scoring every image as the mean of <paramref name="tta"/>'s views.</summary>
    /// <exception cref="ArgumentException">the test images or classes do not fit the model</exception>
    public static EvaluationReport Write(string folder, CctModel model, ImageDataset test, IReadOnlyList<EpochMetrics>? epochs, TestTimeAugmentation tta)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(test);
        var c = model.Config;
        if (test.Rows != c.ImageSize || test.Cols != c.ImageSize || test.ClassNames.Count != c.Classes || c.InChannels != 1)
        {
            throw new ArgumentException($"the model takes {c.InChannels}x{c.ImageSize}x{c.ImageSize} images in {c.Classes} classes; the test set has 1x{test.Rows}x{test.Cols} in {test.ClassNames.Count}", nameof(test));
        }

        Evaluation evaluation;
        using (var data = new DeviceDataset(model.Device, test))
        using (var evaluator = new Evaluator(model.Device, model))
        {
            evaluation = evaluator.Run(data, tta);
        }

        var chosen = SampleGrid.Choose(evaluation.Labels, evaluation.Predictions, SampledAttentionMaps);
        var maps = model.AttentionMaps(chosen.SelectMany(i => test.Image(i).ToArray()).ToArray());
        var rollout = c.Pooling == PoolingKind.Mean;
        var attention = new AttentionSamples(chosen, maps.SelectMany(m => rollout ? m.Rollout : m.Pooling).ToArray(), c.TokenSide, AttentionPlot.MapName(rollout));
        var input = new ReportInput(test.ClassNames, evaluation.Labels, evaluation.Predictions, evaluation.Probabilities, test.Pixels, epochs, attention);
        return new EvaluationReport(evaluation, ReportWriter.Write(folder, input), folder);
    }
}
