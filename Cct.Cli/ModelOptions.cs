using Cct.CommandLine;

using Cct.Gpu.Model;
using Cct.Gpu.Runtime;

namespace Cct.Cli;

/// <summary>Options shared by several commands: the accelerator, and the model preset with per-field overrides.</summary>
internal static class ModelOptions
{
    public static readonly string[] Overrides = ["layers", "heads", "dim", "mlp-ratio", "conv-layers", "mid-channels", "kernel", "pos-emb", "pool"];

    private static readonly Dictionary<string, AcceleratorKind> Accelerators = new(StringComparer.Ordinal)
    {
        ["auto"] = AcceleratorKind.Auto,
        ["cuda"] = AcceleratorKind.Cuda,
        ["opencl"] = AcceleratorKind.OpenCL,
        ["cpu"] = AcceleratorKind.Cpu,
    };

    public static AcceleratorKind Accelerator(ParsedArguments args) => args.Choice("accelerator", AcceleratorKind.Auto, Accelerators);

    // Every GemmPrecision by its lower-case name (fp32, tf32x3, tf32, bf16): the enum is the one list.
    private static readonly Dictionary<string, GemmPrecision> Precisions = Enum.GetValues<GemmPrecision>().ToDictionary(p => p.ToString().ToLowerInvariant(), StringComparer.Ordinal);

    /// <summary>--precision fp32|tf32x3|tf32|bf16: how the device computes the model's Linear products (fp32 by default).</summary>
    public static GemmPrecision Precision(ParsedArguments args) => args.Choice("precision", GemmPrecision.Fp32, Precisions);

    /// <summary>The device of --accelerator in --precision; a tensor-core precision on a device without them is a one-line usage error.</summary>
    public static ComputeDevice Device(ParsedArguments args) => Device(Accelerator(args), Precision(args));

    /// <summary>
    /// The device of <paramref name="kind"/> in <paramref name="precision"/>, as <see cref="Device(ParsedArguments)"/>, replaying
    /// models' steps as CUDA graphs with <paramref name="cudaGraphs"/> (--cuda-graphs; on anything but CUDA a one-line usage error).
    /// </summary>
    public static ComputeDevice Device(AcceleratorKind kind, GemmPrecision precision, bool cudaGraphs = false)
    {
        try
        {
            return ComputeDevice.Create(kind, precision, cudaGraphs);
        }
        catch (NotSupportedException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    public static string Preset(ParsedArguments args, string fallback)
    {
        var name = args.String("model", fallback);
        return CctConfig.PresetNames.Contains(name)
            ? name
            : throw new UsageException($"unknown model '{name}'; choose one of {string.Join(", ", CctConfig.PresetNames)}");
    }

    /// <summary>The preset's config with --layers, --heads, ... applied, validated.</summary>
    public static CctConfig Apply(CctConfig preset, ParsedArguments args)
    {
        var config = preset with
        {
            Layers = args.Int("layers", preset.Layers, 1),
            Heads = args.Int("heads", preset.Heads, 1),
            Dim = args.Int("dim", preset.Dim, 1),
            MlpRatio = args.Double("mlp-ratio", preset.MlpRatio, 0.01, 64),
            Kernel = args.Int("kernel", preset.Kernel, 1),
            PositionalEmbedding = args.Choice("pos-emb", preset.PositionalEmbedding, new Dictionary<string, PositionalEmbeddingKind>(StringComparer.Ordinal)
            {
                ["learnable"] = PositionalEmbeddingKind.Learnable,
                ["sine"] = PositionalEmbeddingKind.Sine,
                ["none"] = PositionalEmbeddingKind.None,
            }),
            Pooling = args.Choice("pool", preset.Pooling, new Dictionary<string, PoolingKind>(StringComparer.Ordinal)
            {
                ["seq"] = PoolingKind.Seq,
                ["mean"] = PoolingKind.Mean,
            }),
        };
        if (args.Has("conv-layers"))
        {
            config = config with { ConvLayers = args.Int("conv-layers", preset.ConvLayers, 1), ConvChannels = null };
        }

        if (args.Has("mid-channels"))
        {
            config = config with { MidChannels = args.Int("mid-channels", preset.MidChannels, 1), ConvChannels = null };
        }

        if (args.Has("dim") && config.ConvChannels is { } channels)
        {
            // Explicit tokenizer channels end with the embedding dim, so a new dim replaces the last one.
            config = config with { ConvChannels = [.. channels.Take(channels.Count - 1), config.Dim] };
        }

        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"invalid model: {e.Message}", e);
        }

        return config;
    }
}
