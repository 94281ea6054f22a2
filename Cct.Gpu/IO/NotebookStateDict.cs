using System.Globalization;
using System.Text.RegularExpressions;

namespace Cct.Gpu.IO;

/// <summary>
/// The seed notebook's state_dict names (tools/reference/seed_notebook.py; tools/notebook_to_safetensors.py writes
/// them from a .pth) mapped to Cct's. The notebook's conv_layers is one nn.Sequential of (Conv2d, BatchNorm2d, ReLU,
/// Dropout) per conv, so conv i is conv_layers.{4i} and its BatchNorm conv_layers.{4i+1}:
/// <list type="bullet">
/// <item>pos_embedding → classifier.positional_emb</item>
/// <item>conv_layers.{4i}.weight/bias → tokenizer.conv_layers.{i}.0.weight/bias</item>
/// <item>conv_layers.{4i+1}.weight/bias/running_mean/running_var → tokenizer.conv_layers.{i}.1.*; num_batches_tracked is dropped</item>
/// <item>transformer_layers.{j}.attention.in_proj_weight/in_proj_bias → classifier.blocks.{j}.self_attn.qkv.weight/bias</item>
/// <item>transformer_layers.{j}.attention.out_proj.* → classifier.blocks.{j}.self_attn.proj.*</item>
/// <item>transformer_layers.{j}.norm1.*, ff.0.*, ff.2.*, norm2.* → classifier.blocks.{j}.norm1.*, linear1.*, linear2.*, norm2.*</item>
/// <item>fc.* → classifier.fc.*</item>
/// </list>
/// Shapes and data are unchanged: nn.MultiheadAttention's in_proj rows are q, k, v with heads contiguous within each,
/// the layout of Cct's qkv. The conv and layer counts come from the names; every tensor of each is required.
/// </summary>
internal static partial class NotebookStateDict
{
    private static readonly string[] ConvTensors = ["weight", "bias"];
    private static readonly string[] BatchNormTensors = ["weight", "bias", "running_mean", "running_var"];

    // Notebook name within transformer_layers.{j}. → Cct name within classifier.blocks.{j}.
    private static readonly (string Notebook, string Cct)[] LayerTensors =
    [
        ("attention.in_proj_weight", "self_attn.qkv.weight"),
        ("attention.in_proj_bias", "self_attn.qkv.bias"),
        ("attention.out_proj.weight", "self_attn.proj.weight"),
        ("attention.out_proj.bias", "self_attn.proj.bias"),
        ("norm1.weight", "norm1.weight"),
        ("norm1.bias", "norm1.bias"),
        ("ff.0.weight", "linear1.weight"),
        ("ff.0.bias", "linear1.bias"),
        ("ff.2.weight", "linear2.weight"),
        ("ff.2.bias", "linear2.bias"),
        ("norm2.weight", "norm2.weight"),
        ("norm2.bias", "norm2.bias"),
    ];

    /// <summary>
    /// Whether <paramref name="names"/> look like the notebook's state_dict: some notebook name (pos_embedding,
    /// conv_layers.*, transformer_layers.*) and no Cct one (tokenizer.*, classifier.*).
    /// </summary>
    public static bool IsNotebookLayout(IEnumerable<string> names)
    {
        var notebook = false;
        foreach (var name in names)
        {
            if (name.StartsWith("tokenizer.", StringComparison.Ordinal) || name.StartsWith("classifier.", StringComparison.Ordinal))
            {
                return false;
            }

            notebook |= name == "pos_embedding" || name.StartsWith("conv_layers.", StringComparison.Ordinal) || name.StartsWith("transformer_layers.", StringComparison.Ordinal);
        }

        return notebook;
    }

    /// <summary>
    /// The Cct name of one notebook tensor, or null for one Cct does not keep (a BatchNorm's num_batches_tracked);
    /// an <see cref="InvalidDataException"/> naming a tensor the notebook's model does not have.
    /// </summary>
    public static string? CctName(string notebookName, string source = "notebook state_dict")
    {
        if (notebookName == "pos_embedding")
        {
            return "classifier.positional_emb";
        }

        if (notebookName is "fc.weight" or "fc.bias")
        {
            return "classifier." + notebookName;
        }

        var conv = ConvName().Match(notebookName);
        if (conv.Success)
        {
            var index = IndexOf(conv);
            var tensor = conv.Groups[2].Value;
            if (index % 4 == 0 && ConvTensors.Contains(tensor))
            {
                return $"tokenizer.conv_layers.{index / 4}.0.{tensor}";
            }

            if (index % 4 == 1 && tensor == "num_batches_tracked")
            {
                return null;
            }

            if (index % 4 == 1 && BatchNormTensors.Contains(tensor))
            {
                return $"tokenizer.conv_layers.{index / 4}.1.{tensor}";
            }
        }

        var layer = LayerName().Match(notebookName);
        if (layer.Success)
        {
            var rest = layer.Groups[2].Value;
            foreach (var (notebook, cct) in LayerTensors)
            {
                if (rest == notebook)
                {
                    return $"classifier.blocks.{layer.Groups[1].Value}.{cct}";
                }
            }
        }

        throw new InvalidDataException($"{source}: unknown tensor '{notebookName}' (not in the seed notebook's model)");
    }

    /// <summary>
    /// The notebook's tensors (name → tensor) under Cct's names, in Cct's order (positional embedding, convs with
    /// their BatchNorms, blocks, fc), num_batches_tracked dropped. An unknown tensor, or a missing one of the convs
    /// and layers the names imply, is an <see cref="InvalidDataException"/> naming it.
    /// </summary>
    public static IReadOnlyDictionary<string, SafeTensor> ToCct(IReadOnlyDictionary<string, SafeTensor> notebook, string source = "notebook state_dict")
    {
        // Unknown names first, so a foreign file is named as such rather than as one missing everything.
        var convs = 0;
        var layers = 0;
        foreach (var name in notebook.Keys)
        {
            var cct = CctName(name, source);
            if (cct is null)
            {
                continue;
            }

            var conv = ConvName().Match(name);
            if (conv.Success)
            {
                convs = Math.Max(convs, (IndexOf(conv) / 4) + 1);
            }

            var layer = LayerName().Match(name);
            if (layer.Success)
            {
                layers = Math.Max(layers, IndexOf(layer) + 1);
            }
        }

        var result = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (var name in ExpectedNames(Math.Max(convs, 1), Math.Max(layers, 1)))
        {
            if (!notebook.TryGetValue(name, out var tensor))
            {
                throw new InvalidDataException($"{source}: missing tensor '{name}' of the seed notebook's model");
            }

            result[CctName(name, source)!] = tensor;
        }

        return result;
    }

    /// <summary><see cref="ToCct(IReadOnlyDictionary{string, SafeTensor}, string)"/> of a whole file, its metadata kept.</summary>
    public static SafeTensorsFile ToCct(SafeTensorsFile notebook, string source = "notebook state_dict")
        => new(ToCct(notebook.Tensors, source), notebook.Metadata);

    /// <summary>The notebook names Cct needs for <paramref name="convs"/> convs and <paramref name="layers"/> layers, in Cct's order.</summary>
    internal static IEnumerable<string> ExpectedNames(int convs, int layers)
    {
        yield return "pos_embedding";
        for (var i = 0; i < convs; i++)
        {
            foreach (var tensor in ConvTensors)
            {
                yield return $"conv_layers.{4 * i}.{tensor}";
            }

            foreach (var tensor in BatchNormTensors)
            {
                yield return $"conv_layers.{(4 * i) + 1}.{tensor}";
            }
        }

        for (var j = 0; j < layers; j++)
        {
            foreach (var (notebook, _) in LayerTensors)
            {
                yield return $"transformer_layers.{j}.{notebook}";
            }
        }

        yield return "fc.weight";
        yield return "fc.bias";
    }

    private static int IndexOf(Match match) => int.Parse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture);

    // Indices without leading zeros and of at most 6 digits, so int.Parse cannot overflow and each index has one spelling.
    [GeneratedRegex(@"^conv_layers\.(0|[1-9][0-9]{0,5})\.([a-z_]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ConvName();

    [GeneratedRegex(@"^transformer_layers\.(0|[1-9][0-9]{0,5})\.([a-z0-9_.]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex LayerName();
}
