using Cct.Tests.Library;
using Cct.Training.Data;
using SkiaSharp;

namespace Cct.Tests.Training;

/// <summary>
/// The seed notebook's weights as tools/notebook_to_safetensors.py writes them (metadata format seed-notebook) go
/// through every command that takes --checkpoint; each once refused the format. The seed model on the CPU
/// accelerator, a few images: about 20 s.
/// </summary>
[Category("Cli")]
public sealed class NotebookCliTests
{
    private string root = string.Empty;
    private string notebook = string.Empty;
    private string png = string.Empty;

    [OneTimeSetUp]
    public void WriteTheConvertersOutput()
    {
        root = Directory.CreateTempSubdirectory("cct-notebook-cli-").FullName;
        notebook = NotebookFile.Write(root);
        png = Path.Combine(root, "shirt.png");
        using var bitmap = new SKBitmap(28, 28, SKColorType.Gray8, SKAlphaType.Opaque);
        for (var y = 0; y < 28; y++)
        {
            for (var x = 0; x < 28; x++)
            {
                bitmap.SetPixel(x, y, x is > 6 and < 22 && y is > 3 and < 25 ? SKColors.White : SKColors.Black);
            }
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(png, data.ToArray());
    }

    [OneTimeTearDown]
    public void DeleteFolder() => Directory.Delete(root, recursive: true);

    [Test]
    public void PredictReadsIt()
    {
        var (code, output, error) = CliRunner.Run("predict", "--checkpoint", notebook, "--accelerator", "cpu", png);
        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.StartWith($"{png}: ").And.Contain("%"));
    }

    [Test]
    public void AttentionReadsIt()
    {
        var (code, output, error) = CliRunner.Run("attention", "--checkpoint", notebook, "--accelerator", "cpu", "--out", Path.Combine(root, "maps"), png);
        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain("shirt.attention.png"));
        Assert.That(File.Exists(Path.Combine(root, "maps", "shirt.attention.png")), Is.True);
    }

    [Test]
    public void ExportReadsIt()
    {
        var onnx = Path.Combine(root, "notebook.onnx");
        var (code, output, error) = CliRunner.Run("export", "--checkpoint", notebook, "--out", onnx);
        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain("output logits (batch, 10)"));
        Assert.That(new FileInfo(onnx).Length, Is.GreaterThan(801_770 * 4), "every parameter as float32");
    }

    [Test]
    public void EvalReadsIt()
    {
        var data = Path.Combine(root, "data");
        Directory.CreateDirectory(data);
        var random = new Random(3);
        foreach (var (prefix, count) in new[] { ("train", 4), ("t10k", 6) })
        {
            var pixels = new byte[count * 28 * 28];
            random.NextBytes(pixels);
            IdxFile.WriteImages(Path.Combine(data, $"{prefix}-images-idx3-ubyte"), pixels, count, 28, 28, gzip: false);
            IdxFile.WriteLabels(Path.Combine(data, $"{prefix}-labels-idx1-ubyte"), Enumerable.Range(0, count).Select(i => (byte)i).ToArray(), gzip: false);
        }

        var (code, output, error) = CliRunner.Run("eval", "--checkpoint", notebook, "--data", data, "--accelerator", "cpu", "--out", Path.Combine(root, "eval"));
        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain("on 6 images"));
        Assert.That(File.Exists(Path.Combine(root, "eval", "report", "report.json")), Is.True);
    }
}
