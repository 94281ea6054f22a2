using Cct.Gpu.IO;

namespace Cct.Tests.IO;

/// <summary>
/// The seed notebook's state_dict names (Fixtures/seed_notebook.safetensors, written by
/// tools/reference/seed_notebook.py) mapped to Cct's by <see cref="NotebookStateDict"/>.
/// </summary>
public sealed class NotebookStateDictTests
{
    private const string FixturePrefix = "fixture.";
    private static readonly int[] Channels = [1, 16, 32, 64, 128, 128];
    private const int Dim = 128;
    private const int Hidden = 256;
    private const int Tokens = 196;
    private const int Layers = 4;
    private const int Classes = 10;

    [Test]
    public void FixtureMapsToExactlyTheSeedModelsCctNamesAndShapes()
    {
        var mapped = NotebookStateDict.ToCct(NotebookTensors(), "seed_notebook");
        var expected = ExpectedCctShapes();

        Assert.That(mapped.Keys, Is.EqualTo(expected.Keys), "names, in Cct's order");
        foreach (var (name, shape) in expected)
        {
            Assert.That(mapped[name].Shape, Is.EqualTo(shape), name);
            Assert.That(mapped[name].DType, Is.EqualTo("F32"), name);
        }

        // The notebook's 801,770 trainable values (Cct without conv and in_proj biases has 799,866).
        var trainable = mapped.Where(t => !IsRunningStatistic(t.Key)).Sum(t => t.Value.ElementCount);
        Assert.That(trainable, Is.EqualTo(801_770));
        Assert.That(mapped.Where(t => IsRunningStatistic(t.Key)).Sum(t => t.Value.ElementCount), Is.EqualTo(2 * (16 + 32 + 64 + 128 + 128)));
        Assert.That(Fixture().Metadata["parameters"], Is.EqualTo("801770"));
    }

    [Test]
    public void TensorsKeepTheirData()
    {
        var notebook = NotebookTensors();
        var mapped = NotebookStateDict.ToCct(notebook);
        Assert.Multiple(() =>
        {
            Assert.That(mapped["classifier.positional_emb"].Data, Is.EqualTo(notebook["pos_embedding"].Data));
            Assert.That(mapped["tokenizer.conv_layers.3.0.bias"].Data, Is.EqualTo(notebook["conv_layers.12.bias"].Data));
            Assert.That(mapped["tokenizer.conv_layers.4.1.running_var"].Data, Is.EqualTo(notebook["conv_layers.17.running_var"].Data));
            Assert.That(mapped["classifier.blocks.2.self_attn.qkv.weight"].Data, Is.EqualTo(notebook["transformer_layers.2.attention.in_proj_weight"].Data));
            Assert.That(mapped["classifier.blocks.3.linear2.bias"].Data, Is.EqualTo(notebook["transformer_layers.3.ff.2.bias"].Data));
            Assert.That(mapped["classifier.fc.weight"].Data, Is.EqualTo(notebook["fc.weight"].Data));
        });
    }

    [Test]
    public void FixtureHoldsItsInputAndLogits()
    {
        var file = Fixture();
        Assert.That(file[FixturePrefix + "input"].Shape, Is.EqualTo(new[] { 3, 1, 28, 28 }));
        Assert.That(file[FixturePrefix + "logits"].Shape, Is.EqualTo(new[] { 3, Classes }));
        Assert.That(file["conv_layers.1.num_batches_tracked"].DType, Is.EqualTo("I64"));
        Assert.That(file.Metadata.Keys, Is.SupersetOf(new[] { "config", "names", "parameters", "fp32_max_abs_error", "description" }));
        Assert.That(file.Metadata["names"].Split(','), Is.EquivalentTo(NotebookTensors().Keys));
    }

    [Test]
    public void NotebookLayoutIsRecognised()
    {
        var notebook = NotebookTensors();
        Assert.Multiple(() =>
        {
            Assert.That(NotebookStateDict.IsNotebookLayout(notebook.Keys), Is.True);
            Assert.That(NotebookStateDict.IsNotebookLayout(Fixture().Tensors.Keys), Is.True, "with the fixture's own tensors");
            Assert.That(NotebookStateDict.IsNotebookLayout(NotebookStateDict.ToCct(notebook).Keys), Is.False, "Cct names");
            Assert.That(NotebookStateDict.IsNotebookLayout(["fc.weight", "fc.bias"]), Is.False, "no notebook-only name");
            Assert.That(NotebookStateDict.IsNotebookLayout(["pos_embedding", "classifier.fc.weight"]), Is.False, "mixed");
            Assert.That(NotebookStateDict.IsNotebookLayout([]), Is.False);
        });
    }

    [TestCase("transformer_layers.2.ff.0.bias")]
    [TestCase("conv_layers.9.running_mean")]
    [TestCase("conv_layers.0.bias")]
    [TestCase("pos_embedding")]
    [TestCase("fc.weight")]
    public void AMissingTensorIsRefusedByName(string name)
    {
        var notebook = NotebookTensors();
        notebook.Remove(name);
        var e = Assert.Throws<InvalidDataException>(() => NotebookStateDict.ToCct(notebook, "model.safetensors"))!;
        Assert.That(e.Message, Does.StartWith("model.safetensors: ").And.Contain($"'{name}'").And.Contain("missing"));
        Assert.That(e.Message, Does.Not.Contain('\n'));
    }

    /// <summary>num_batches_tracked is optional: Cct keeps no such counter.</summary>
    [Test]
    public void NumBatchesTrackedIsOptionalAndDropped()
    {
        var notebook = NotebookTensors();
        var without = notebook.Where(t => !t.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToDictionary();
        Assert.That(NotebookStateDict.ToCct(without).Keys, Is.EqualTo(NotebookStateDict.ToCct(notebook).Keys));
        Assert.That(NotebookStateDict.CctName("conv_layers.5.num_batches_tracked"), Is.Null);
    }

    [TestCase("transformer_layers.0.attention.bias_k")]
    [TestCase("conv_layers.2.weight")]
    [TestCase("conv_layers.4.running_mean")]
    [TestCase("conv_layers.01.weight")]
    [TestCase("transformer_layers.1.ff.1.weight")]
    [TestCase("classifier.fc.weight")]
    [TestCase("fixture.logits")]
    public void AnUnknownTensorIsRefusedByName(string name)
    {
        var notebook = NotebookTensors();
        notebook[name] = SafeTensor.FromFloats([1f], 1);
        var e = Assert.Throws<InvalidDataException>(() => NotebookStateDict.ToCct(notebook, "model.safetensors"))!;
        Assert.That(e.Message, Does.StartWith("model.safetensors: ").And.Contain($"'{name}'").And.Contain("unknown"));
    }

    /// <summary>The counts come from the names: a file with a fifth layer's tensors needs all of them.</summary>
    [Test]
    public void AnIncompleteExtraLayerIsRefused()
    {
        var notebook = NotebookTensors();
        notebook["transformer_layers.4.norm2.bias"] = SafeTensor.FromFloats(new float[Dim], Dim);
        var e = Assert.Throws<InvalidDataException>(() => NotebookStateDict.ToCct(notebook))!;
        Assert.That(e.Message, Does.Contain("'transformer_layers.4.attention.in_proj_weight'"));
    }

    private static bool IsRunningStatistic(string name) => name.EndsWith(".running_mean", StringComparison.Ordinal) || name.EndsWith(".running_var", StringComparison.Ordinal);

    private static SafeTensorsFile Fixture() => SafeTensorsFile.Read(Path.Combine(AppContext.BaseDirectory, "Fixtures", "seed_notebook.safetensors"));

    private static Dictionary<string, SafeTensor> NotebookTensors()
        => Fixture().Tensors.Where(t => !t.Key.StartsWith(FixturePrefix, StringComparison.Ordinal)).ToDictionary(StringComparer.Ordinal);

    // Written out from the mapping rules for the seed: 5 convs (1 → 16 → 32 → 64 → 128 → 128, 3×3, bias) each with a
    // BatchNorm, 4 post-norm layers of width 128 (qkv with bias, 4 heads, hidden 256), 196 tokens, 10 classes.
    private static Dictionary<string, int[]> ExpectedCctShapes()
    {
        var shapes = new Dictionary<string, int[]> { ["classifier.positional_emb"] = [1, Tokens, Dim] };
        for (var i = 0; i < 5; i++)
        {
            var (cin, cout) = (Channels[i], Channels[i + 1]);
            var conv = $"tokenizer.conv_layers.{i}.";
            shapes[conv + "0.weight"] = [cout, cin, 3, 3];
            shapes[conv + "0.bias"] = [cout];
            shapes[conv + "1.weight"] = [cout];
            shapes[conv + "1.bias"] = [cout];
            shapes[conv + "1.running_mean"] = [cout];
            shapes[conv + "1.running_var"] = [cout];
        }

        for (var j = 0; j < Layers; j++)
        {
            var b = $"classifier.blocks.{j}.";
            shapes[b + "self_attn.qkv.weight"] = [3 * Dim, Dim];
            shapes[b + "self_attn.qkv.bias"] = [3 * Dim];
            shapes[b + "self_attn.proj.weight"] = [Dim, Dim];
            shapes[b + "self_attn.proj.bias"] = [Dim];
            shapes[b + "norm1.weight"] = [Dim];
            shapes[b + "norm1.bias"] = [Dim];
            shapes[b + "linear1.weight"] = [Hidden, Dim];
            shapes[b + "linear1.bias"] = [Hidden];
            shapes[b + "linear2.weight"] = [Dim, Hidden];
            shapes[b + "linear2.bias"] = [Dim];
            shapes[b + "norm2.weight"] = [Dim];
            shapes[b + "norm2.bias"] = [Dim];
        }

        shapes["classifier.fc.weight"] = [Classes, Dim];
        shapes["classifier.fc.bias"] = [Classes];
        return shapes;
    }
}
