using Cct.Gpu.IO;
using Cct.Gpu.Model;
using Cct.Tests.Support;

namespace Cct.Tests.Model;

/// <summary>
/// The seed notebook's model (tools/reference/seed_notebook.py) loaded from its PyTorch state_dict through
/// <see cref="NotebookStateDict"/> into a `seed` CctModel, with its conv and attention biases: eval-mode logits of the
/// fixture's three images against PyTorch's float64 logits.
/// </summary>
public sealed class SeedNotebookParityTests
{
    /// <summary>
    /// Bound |a − b| ≤ 1e-5 + 1e-4·|ref| (Compare.AssertClose's default, the one the whole-model tests use for logits), as
    /// the fixture's README recommends: the logits lie within [-1.3, 2.4], so about 1e-4, some 50x PyTorch's own fp32
    /// error on this forward (1.88e-6); five convs and four blocks of fp32 sums in Cct's order stay well inside it.
    /// </summary>
    [Test]
    public void EvalLogitsMatchPyTorch()
    {
        var file = SafeTensorsFile.Read(Path.Combine(AppContext.BaseDirectory, "Fixtures", "seed_notebook.safetensors"));
        var stateDict = file.Tensors.Where(t => !t.Key.StartsWith("fixture.", StringComparison.Ordinal)).ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
        var weights = NotebookStateDict.ToCct(stateDict, "seed_notebook.safetensors");
        var input = file["fixture.input"];
        var batch = input.Shape[0];
        var device = TestDevices.Cpu;
        using var model = new CctModel(device, CctConfig.Preset("seed"), batch);
        Assert.That(model.Parameters.Count, Is.EqualTo(long.Parse(file.Metadata["parameters"], System.Globalization.CultureInfo.InvariantCulture)));
        foreach (var slot in model.Parameters.Layout.Slots)
        {
            model.Parameters.WriteValue(slot.Name, weights[slot.Name].ToFloats());
        }

        foreach (var slot in model.BufferLayout.Slots)
        {
            model.WriteBuffer(slot.Name, weights[slot.Name].ToFloats());
        }

        using var images = device.Upload(input.ToFloats());
        var logits = new float[batch * model.Config.Classes];
        model.Forward(images.View, batch, train: false).CopyToCPU(logits);
        Compare.AssertClose(logits, file["fixture.logits"].ToFloats(), "seed_notebook.logits");
    }
}
