using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cct.Gpu.Model;

/// <summary>Everything that fixes a CCT's shape and its stochastic layers.</summary>
public sealed record CctConfig
{
    /// <summary>Input image side in pixels (28 for FashionMNIST).</summary>
    public int ImageSize { get; init; } = 28;

    /// <summary>Input channels (1 for greyscale).</summary>
    public int InChannels { get; init; } = 1;

    /// <summary>Number of conv layers in the tokenizer ("/3x2" means two of them).</summary>
    public int ConvLayers { get; init; } = 2;

    /// <summary>Conv kernel size ("/3x2" means 3x3), padding k/2, stride 1.</summary>
    public int Kernel { get; init; } = 3;

    /// <summary>Channels of every tokenizer conv but the last, which outputs <see cref="Dim"/>.</summary>
    public int MidChannels { get; init; } = 64;

    /// <summary>Explicit tokenizer channels (one per conv layer); overrides <see cref="MidChannels"/> when set (the seed's 16, 32, 64, 128, 128).</summary>
    public IReadOnlyList<int>? ConvChannels { get; init; }

    /// <summary>BatchNorm after each tokenizer conv (the seed notebook); official CCT has none.</summary>
    public bool BatchNorm { get; init; }

    /// <summary>Tokenizer convs carry a bias (the seed notebook's nn.Conv2d default); official CCT's have none.</summary>
    public bool ConvBias { get; init; }

    /// <summary>The attention's qkv projection carries a bias (nn.MultiheadAttention's in_proj_bias); official CCT's has none.</summary>
    public bool AttentionBias { get; init; }

    /// <summary>Official CCT max-pools (3, 2, 1) after every conv; the seed pools once (2, 2, 0) after the last.</summary>
    public bool PoolAfterEveryConv { get; init; } = true;

    /// <summary>Max-pool kernel size.</summary>
    public int PoolKernel { get; init; } = 3;

    /// <summary>Max-pool stride.</summary>
    public int PoolStride { get; init; } = 2;

    /// <summary>Max-pool padding.</summary>
    public int PoolPadding { get; init; } = 1;

    /// <summary>Transformer blocks ("CCT-7" means 7).</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Attention heads per block; must divide <see cref="Dim"/>.</summary>
    public int Heads { get; init; } = 2;

    /// <summary>MLP hidden width as a multiple of <see cref="Dim"/>.</summary>
    public double MlpRatio { get; init; } = 1;

    /// <summary>Token width (embedding dimension).</summary>
    public int Dim { get; init; } = 128;

    /// <summary>Output classes.</summary>
    public int Classes { get; init; } = 10;

    /// <summary>Where LayerNorm sits in each block.</summary>
    public BlockLayout Layout { get; init; } = BlockLayout.Official;

    /// <summary>How positions are encoded.</summary>
    public PositionalEmbeddingKind PositionalEmbedding { get; init; } = PositionalEmbeddingKind.Learnable;

    /// <summary>How tokens are pooled for the classifier.</summary>
    public PoolingKind Pooling { get; init; } = PoolingKind.Seq;

    /// <summary>Dropout on the attention probabilities while training.</summary>
    public float AttentionDropout { get; init; }

    /// <summary>Stochastic depth: drop-path rate of the last block, rising linearly from 0 at the first (as the official code).</summary>
    public float StochasticDepth { get; init; }

    /// <summary>Dropout after each tokenizer conv's activation (the seed's 0.3).</summary>
    public float ConvDropout { get; init; }

    /// <summary>
    /// Mean subtracted from pixels scaled to [0, 1] before the model sees them (torchvision's Normalize). Unset means
    /// the training data's own statistics, which the trainer then records here; the seed notebook fixes 0.5.
    /// </summary>
    public float? InputMean { get; init; }

    /// <summary>Standard deviation pixels in [0, 1] are divided by after <see cref="InputMean"/>; unset as there.</summary>
    public float? InputStd { get; init; }

    /// <summary>FashionMNIST's training-pixel mean, used by <see cref="CctModel.Predict(ReadOnlySpan{float})"/> when <see cref="InputMean"/> is unset.</summary>
    internal const float FashionMnistMean = 0.2860f;

    /// <summary>FashionMNIST's training-pixel standard deviation, the fallback for <see cref="InputStd"/>.</summary>
    internal const float FashionMnistStd = 0.3530f;

    /// <summary>MLP hidden width: <see cref="Dim"/> × <see cref="MlpRatio"/>, rounded.</summary>
    [JsonIgnore]
    public int MlpHidden => (int)Math.Round(Dim * MlpRatio);

    /// <summary>Width of one attention head: <see cref="Dim"/> / <see cref="Heads"/>.</summary>
    [JsonIgnore]
    public int HeadSize => Dim / Heads;

    /// <summary>Output channels of each tokenizer conv.</summary>
    [JsonIgnore]
    public IReadOnlyList<int> TokenizerChannels
        => ConvChannels ?? Enumerable.Range(0, ConvLayers).Select(i => i == ConvLayers - 1 ? Dim : MidChannels).ToList();

    /// <summary>Spatial side after the tokenizer; tokens = side².</summary>
    [JsonIgnore]
    public int TokenSide
    {
        get
        {
            var side = ImageSize;
            for (var i = 0; i < TokenizerChannels.Count; i++)
            {
                side = ((side + (2 * (Kernel / 2)) - Kernel) / 1) + 1;
                if (PoolAfterEveryConv || i == TokenizerChannels.Count - 1)
                {
                    side = ((side + (2 * PoolPadding) - PoolKernel) / PoolStride) + 1;
                }
            }

            return side;
        }
    }

    /// <summary>Tokens per image: <see cref="TokenSide"/>².</summary>
    [JsonIgnore]
    public int Tokens => TokenSide * TokenSide;

    /// <summary>Equal when every field is, <see cref="ConvChannels"/> compared by its values (a record alone compares the list's reference).</summary>
    public bool Equals(CctConfig? other) => other is not null && (ReferenceEquals(this, other) || ToJson() == other.ToJson());

    /// <summary>A hash consistent with <see cref="Equals(CctConfig?)"/>.</summary>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToJson());

    /// <summary>The layer table `cct summary` prints: each layer's name, output shape and parameter count (their sum is the model's).</summary>
    public IReadOnlyList<SummaryRow> Summary() => ModelSummary.Rows(this);

    /// <summary>The config as JSON (snake_case, enums as strings), as stored in checkpoints and config.json.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, CctConfigJsonContext.Default.CctConfig);

    /// <summary>Reads <see cref="ToJson"/>'s output; throws <see cref="JsonException"/> on malformed text.</summary>
    public static CctConfig FromJson(string json)
        => JsonSerializer.Deserialize(json, CctConfigJsonContext.Default.CctConfig) ?? throw new JsonException("model config is null");

    /// <summary>Throws a one-line <see cref="ArgumentException"/> naming the first inconsistent field.</summary>
    public void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok)
            {
                throw new ArgumentException(message);
            }
        }

        Require(ImageSize > 0 && InChannels > 0 && Classes > 1, "image size, input channels must be positive and classes at least 2");
        Require(TokenizerChannels.Count > 0 && TokenizerChannels.All(c => c > 0), "the tokenizer needs at least one conv layer with positive channels");
        Require(TokenizerChannels[^1] == Dim, $"the last tokenizer conv must output the embedding dim {Dim}, not {TokenizerChannels[^1]}");
        Require(Kernel > 0 && Kernel % 2 == 1, $"conv kernel must be odd and positive, got {Kernel}");
        Require(Layers > 0 && Heads > 0 && Dim > 0, "layers, heads and dim must be positive");
        Require(Dim % Heads == 0, $"dim {Dim} is not divisible by heads {Heads}");
        Require(MlpHidden > 0, $"mlp ratio {MlpRatio} gives no hidden units");
        Require(TokenSide > 0, $"a {ImageSize}x{ImageSize} image leaves no tokens after the tokenizer");
        Require(InputMean is null || float.IsFinite(InputMean.Value), "the input mean must be finite");
        Require(InputStd is null || (float.IsFinite(InputStd.Value) && InputStd > 0), "the input standard deviation must be positive");
        Require(AttentionDropout is >= 0 and < 1 && StochasticDepth is >= 0 and < 1 && ConvDropout is >= 0 and < 1, "dropout rates must lie in [0, 1)");
    }

    /// <summary>Presets by name: cct-2/3x2, cct-4/3x2, cct-6/3x1, cct-7/3x1 (official), seed (the notebook's model), cct-tiny.</summary>
    public static CctConfig Preset(string name)
    {
        var official = new CctConfig { AttentionDropout = 0.1f, StochasticDepth = 0.1f };
        return name switch
        {
            "cct-2/3x2" => official with { Layers = 2, Heads = 2, MlpRatio = 1, Dim = 128, ConvLayers = 2 },
            "cct-4/3x2" => official with { Layers = 4, Heads = 2, MlpRatio = 1, Dim = 128, ConvLayers = 2 },
            "cct-6/3x1" => official with { Layers = 6, Heads = 4, MlpRatio = 2, Dim = 256, ConvLayers = 1 },
            "cct-7/3x1" => official with { Layers = 7, Heads = 4, MlpRatio = 2, Dim = 256, ConvLayers = 1 },

            // Small enough for ILGPU's CPU simulator (~0.5 GFLOP/s): one block over 49 tokens of width 24.
            "cct-tiny" => official with { Layers = 1, Heads = 2, MlpRatio = 2, Dim = 24, ConvLayers = 2, MidChannels = 8, StochasticDepth = 0, AttentionDropout = 0 },
            "seed" => new CctConfig
            {
                ConvChannels = [16, 32, 64, 128, 128],
                ConvLayers = 5,
                BatchNorm = true,
                ConvBias = true,
                AttentionBias = true,
                ConvDropout = 0.3f,
                PoolAfterEveryConv = false,
                PoolKernel = 2,
                PoolStride = 2,
                PoolPadding = 0,
                Layers = 4,
                Heads = 4,
                Dim = 128,
                MlpRatio = 2,
                Layout = BlockLayout.PostNorm,
                Pooling = PoolingKind.Mean,
                AttentionDropout = 0.2f,
                InputMean = 0.5f,
                InputStd = 0.5f,
            },
            _ => throw new ArgumentException($"unknown model preset '{name}'; known: {string.Join(", ", PresetNames)}"),
        };
    }

    /// <summary>The preset names <see cref="Preset"/> accepts.</summary>
    [JsonIgnore]
    public static IReadOnlyList<string> PresetNames { get; } = ["cct-2/3x2", "cct-4/3x2", "cct-6/3x1", "cct-7/3x1", "seed", "cct-tiny"];
}
