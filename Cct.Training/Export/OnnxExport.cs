using System.Globalization;
using Cct.Gpu.Model;
using Cct.Training.Data;
using Cct.Training.Reports;

namespace Cct.Training.Export;

/// <summary>
/// A model as ONNX (opset 17, inference graph), as the seed notebook's torch.onnx.export wrote it: input "images"
/// (batch, C, H, W) normalised as in training, ((pixel / 255 − mean) / std), output "logits" (batch, classes). The
/// metadata holds the config (cct.config), the normalisation (normalise.mean, normalise.std) and the class names.
/// </summary>
public static class OnnxExport
{
    /// <summary>The ONNX model file of <paramref name="model"/>, whose classes are <paramref name="dataset"/>'s.</summary>
    public static byte[] ToBytes(CctModel model, DatasetSpec dataset)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dataset);
        var (mean, std) = model.InputNormalization;
        var metadata = new Dictionary<string, string>
        {
            ["cct.config"] = model.Config.ToJson(),
            ["normalise.mean"] = mean.ToString("R", CultureInfo.InvariantCulture),
            ["normalise.std"] = std.ToString("R", CultureInfo.InvariantCulture),
            ["classes"] = string.Join(",", dataset.ClassNames),
        };
        return new OnnxExporter(model.Config, model.Parameters.ReadValue, model.ReadBuffer).Export(metadata);
    }

    /// <summary>Writes <see cref="ToBytes"/> to <paramref name="path"/> atomically and returns its size in bytes.</summary>
    public static long Save(CctModel model, DatasetSpec dataset, string path)
    {
        var bytes = ToBytes(model, dataset);
        AtomicFile.WriteAllBytes(path, bytes);
        return bytes.Length;
    }
}
