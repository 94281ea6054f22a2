namespace Cct.Gpu.Model;

/// <summary>
/// How <see cref="CctModel.Initialize"/> fills a tensor, as the official CCT initialises its modules. Each spec
/// (<see cref="LinearSpec"/>, <see cref="ConvStageSpec"/>, …) states its tensors' rule, so no rule matches on names.
/// </summary>
internal enum TensorInit
{
    /// <summary>All zero: biases, BatchNorm's running mean.</summary>
    Zeros,

    /// <summary>All one: LayerNorm and BatchNorm scales, BatchNorm's running variance.</summary>
    Ones,

    /// <summary>Kaiming normal (fan_in, gain √2), torch.nn.init.kaiming_normal_'s default: the tokenizer's convolutions.</summary>
    KaimingNormal,

    /// <summary>trunc_normal_(std = 0.02), cut at ±2 as timm's default bounds: Linear weights.</summary>
    TruncatedNormal,

    /// <summary>A learnable positional embedding: normal with std 0.2, cut at ±2, as the official code's trunc_normal_(std=0.2).</summary>
    PositionalNormal,

    /// <summary>The sine positional embedding (a buffer): <see cref="Layers.Tokens.SineEmbedding"/>.</summary>
    SineEmbedding,
}
