using Cct.Gpu.Layers;

namespace Cct.Gpu.Model;

/// <summary>A tensor of the model by its PyTorch state_dict name, with its shape.</summary>
internal sealed record TensorSpec(string Name, int[] Shape)
{
    /// <summary>Number of values.</summary>
    public long Length => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>torch.nn.Linear(In, Out): weight (Out, In) and, with <see cref="HasBias"/>, bias (Out).</summary>
internal sealed record LinearSpec(string Name, int In, int Out, bool HasBias)
{
    /// <summary>The weight (Out, In).</summary>
    public TensorSpec Weight => new(Name + ".weight", [Out, In]);

    /// <summary>The bias (Out); null without one.</summary>
    public TensorSpec? Bias => HasBias ? new(Name + ".bias", [Out]) : null;

    /// <summary>Weight then bias, in state_dict order.</summary>
    public IEnumerable<TensorSpec> Parameters => Bias is { } bias ? [Weight, bias] : [Weight];
}

/// <summary>torch.nn.LayerNorm(Dim): weight and bias (Dim).</summary>
internal sealed record LayerNormSpec(string Name, int Dim)
{
    /// <summary>The scale (Dim).</summary>
    public TensorSpec Weight => new(Name + ".weight", [Dim]);

    /// <summary>The shift (Dim).</summary>
    public TensorSpec Bias => new(Name + ".bias", [Dim]);

    /// <summary>Weight then bias, in state_dict order.</summary>
    public IEnumerable<TensorSpec> Parameters => [Weight, Bias];
}

/// <summary>torch.nn.BatchNorm2d(Channels): weight and bias, and the running statistics it saves as buffers.</summary>
internal sealed record BatchNormSpec(string Name, int Channels)
{
    /// <summary>Weight then bias (Channels).</summary>
    public IEnumerable<TensorSpec> Parameters => [Weight, Bias];

    /// <summary>Running mean then running variance (Channels).</summary>
    public IEnumerable<TensorSpec> Buffers => [RunningMean, RunningVar];

    /// <summary>The scale (Channels).</summary>
    public TensorSpec Weight => new(Name + ".weight", [Channels]);

    /// <summary>The shift (Channels).</summary>
    public TensorSpec Bias => new(Name + ".bias", [Channels]);

    /// <summary>The running mean (Channels).</summary>
    public TensorSpec RunningMean => new(Name + ".running_mean", [Channels]);

    /// <summary>The running variance (Channels).</summary>
    public TensorSpec RunningVar => new(Name + ".running_var", [Channels]);
}

/// <summary>
/// One module of a <see cref="CctArchitecture"/>: the tensors it holds and its rows of the `cct summary` table
/// (layer, output shape for one image, parameters).
/// </summary>
internal abstract record ModuleSpec
{
    /// <summary>Trainable tensors, in state_dict order.</summary>
    public abstract IEnumerable<TensorSpec> Parameters { get; }

    /// <summary>Saved non-trainable tensors (BatchNorm running statistics, a fixed sine embedding).</summary>
    public virtual IEnumerable<TensorSpec> Buffers => [];

    /// <summary>The module's rows of the summary table.</summary>
    public abstract IEnumerable<SummaryRow> SummaryRows { get; }

    private protected static string Shape(params int[] dims) => "(" + string.Join(", ", dims) + ")";
}

/// <summary>
/// Tokenizer layer <see cref="Index"/> ("tokenizer.conv_layers.{i}"): conv (weight, optional bias) → [BatchNorm] →
/// ReLU → [dropout at <see cref="DropoutRate"/> while training] → [max-pool]. Shapes carry batch 1; the model sets its batch.
/// </summary>
internal sealed record ConvStageSpec(int Index, Conv2dShape Conv, bool HasBias, BatchNormSpec? Norm, float DropoutRate, Pool2dShape? Pool) : ModuleSpec
{
    /// <summary>The state_dict prefix of the layer.</summary>
    public string Prefix => $"tokenizer.conv_layers.{Index}";

    /// <summary>The conv weight (Cout, Cin, K, K).</summary>
    public TensorSpec Weight => new(Prefix + ".0.weight", [Conv.OutChannels, Conv.InChannels, Conv.Kernel, Conv.Kernel]);

    /// <summary>The conv bias (Cout); null without one.</summary>
    public TensorSpec? Bias => HasBias ? new(Prefix + ".0.bias", [Conv.OutChannels]) : null;

    /// <summary>Values of one image after the conv (Cout · H · W), as after BatchNorm, ReLU and dropout.</summary>
    public int ConvOutputSize => Conv.OutChannels * Conv.OutHeight * Conv.OutWidth;

    /// <summary>The stage's output for one image: (Cout, H, W) after the pool, or after the conv without one.</summary>
    public int[] OutputShape => Pool is { } pool ? [pool.Channels, pool.OutHeight, pool.OutWidth] : [Conv.OutChannels, Conv.OutHeight, Conv.OutWidth];

    /// <inheritdoc/>
    public override IEnumerable<TensorSpec> Parameters
        => new[] { Weight, Bias }.OfType<TensorSpec>().Concat(Norm?.Parameters ?? []);

    /// <inheritdoc/>
    public override IEnumerable<TensorSpec> Buffers => Norm?.Buffers ?? [];

    /// <inheritdoc/>
    public override IEnumerable<SummaryRow> SummaryRows
    {
        get
        {
            var convShape = Shape(Conv.OutChannels, Conv.OutHeight, Conv.OutWidth);
            yield return new($"{Prefix}.0 Conv2d {Conv.Kernel}x{Conv.Kernel}", convShape, Weight.Length + (Bias?.Length ?? 0));
            if (Norm is not null)
            {
                yield return new($"{Prefix}.1 BatchNorm2d", convShape, Norm.Parameters.Sum(p => p.Length));
            }

            yield return new($"{Prefix} ReLU{(DropoutRate > 0 ? $" + Dropout({DropoutRate})" : string.Empty)}", convShape, 0);
            if (Pool is { } pool)
            {
                yield return new($"{Prefix} MaxPool2d({pool.Kernel}, {pool.Stride}, {pool.Padding})", Shape(OutputShape), 0);
            }
        }
    }
}

/// <summary>
/// The tokenizer's (B, C, h, w) output flattened to tokens (B, T, C), plus the positional embedding (1, T, C): a
/// parameter when learnable, a buffer when sine, none otherwise.
/// </summary>
internal sealed record TokensSpec(PositionalEmbeddingKind Kind, int Tokens, int Dim) : ModuleSpec
{
    /// <summary>The positional embedding "classifier.positional_emb" (1, T, C); null with <see cref="PositionalEmbeddingKind.None"/>.</summary>
    public TensorSpec? Embedding => Kind == PositionalEmbeddingKind.None ? null : new("classifier.positional_emb", [1, Tokens, Dim]);

    /// <inheritdoc/>
    public override IEnumerable<TensorSpec> Parameters => Kind == PositionalEmbeddingKind.Learnable ? [Embedding!] : [];

    /// <inheritdoc/>
    public override IEnumerable<TensorSpec> Buffers => Kind == PositionalEmbeddingKind.Sine ? [Embedding!] : [];

    /// <inheritdoc/>
    public override IEnumerable<SummaryRow> SummaryRows
        => [new($"tokens + positional embedding ({Kind.ToString().ToLowerInvariant()})", Shape(Tokens, Dim), Parameters.Sum(p => p.Length))];
}

/// <summary>
/// Transformer block <see cref="Index"/> ("classifier.blocks.{j}") on (B, T, C) tokens, in either <see cref="BlockLayout"/>:
/// official (<see cref="PreNorm"/> set, GELU MLP) or post-norm (<see cref="Norm2"/> set, ReLU MLP). Attention dropout and
/// the drop-path rate (stochastic depth, rising linearly over the blocks) apply while training.
/// </summary>
internal sealed record BlockSpec(
    int Index,
    BlockLayout Layout,
    int Tokens,
    int Dim,
    int Heads,
    int Hidden,
    float AttentionDropout,
    float DropPathRate,
    LayerNormSpec? PreNorm,
    LinearSpec Qkv,
    LinearSpec Proj,
    LinearSpec Linear1,
    LayerNormSpec Norm1,
    LinearSpec Linear2,
    LayerNormSpec? Norm2) : ModuleSpec
{
    /// <summary>The official code registers norm1 after linear1, so the state_dict lists it there.</summary>
    public override IEnumerable<TensorSpec> Parameters
        => (PreNorm?.Parameters ?? []).Concat(Qkv.Parameters).Concat(Proj.Parameters).Concat(Linear1.Parameters)
            .Concat(Norm1.Parameters).Concat(Linear2.Parameters).Concat(Norm2?.Parameters ?? []);

    /// <inheritdoc/>
    public override IEnumerable<SummaryRow> SummaryRows
    {
        get
        {
            var kind = Layout == BlockLayout.Official ? "pre-norm, GELU" : "post-norm, ReLU";
            return [new($"classifier.blocks.{Index} ({Heads} heads, mlp {Hidden}, {kind})", Shape(Tokens, Dim), Parameters.Sum(p => p.Length))];
        }
    }
}

/// <summary>
/// The classifier head on the last block's tokens (B, T, C): the official final LayerNorm (<see cref="Norm"/>), then
/// sequence pooling (<see cref="AttentionPool"/>, Linear(C, 1) scores) or the mean over tokens, then the linear classifier.
/// </summary>
internal sealed record HeadSpec(int Tokens, int Dim, int Classes, LayerNormSpec? Norm, PoolingKind Pooling, LinearSpec? AttentionPool, LinearSpec Fc) : ModuleSpec
{
    /// <summary>In forward order; <see cref="CctArchitecture.Parameters"/> places them in state_dict order.</summary>
    public override IEnumerable<TensorSpec> Parameters
        => (Norm?.Parameters ?? []).Concat(AttentionPool?.Parameters ?? []).Concat(Fc.Parameters);

    /// <inheritdoc/>
    public override IEnumerable<SummaryRow> SummaryRows
    {
        get
        {
            if (Norm is not null)
            {
                yield return new("classifier.norm LayerNorm", Shape(Tokens, Dim), Norm.Parameters.Sum(p => p.Length));
            }

            yield return AttentionPool is not null
                ? new("classifier.attention_pool SeqPool", Shape(Dim), AttentionPool.Parameters.Sum(p => p.Length))
                : new("mean pool", Shape(Dim), 0);
            yield return new("classifier.fc Linear", Shape(Classes), Fc.Parameters.Sum(p => p.Length));
        }
    }
}

/// <summary>
/// The one description of a CCT built from a <see cref="CctConfig"/>: its modules with their parameter names and shapes
/// and output shapes. The model lays out its parameters and builds its modules from it, and `cct summary` and the ONNX
/// exporter walk it, so a new layer is described here once.
/// </summary>
internal sealed record CctArchitecture(CctConfig Config, IReadOnlyList<ConvStageSpec> Tokenizer, TokensSpec Tokens, IReadOnlyList<BlockSpec> Blocks, HeadSpec Head)
{
    /// <summary>The modules in forward order.</summary>
    public IEnumerable<ModuleSpec> Modules => [.. Tokenizer, Tokens, .. Blocks, Head];

    /// <summary>
    /// Every parameter in state_dict (slot) order, which checkpoints, PyTorch fixtures and initialisation follow. It is
    /// PyTorch's registration order, not the forward order: the official TransformerClassifier registers its positional
    /// embedding and attention_pool before the blocks, and the final norm and fc after them.
    /// </summary>
    public IEnumerable<TensorSpec> Parameters
        => Tokenizer.SelectMany(s => s.Parameters)
            .Concat(Tokens.Parameters)
            .Concat(Head.AttentionPool?.Parameters ?? [])
            .Concat(Blocks.SelectMany(b => b.Parameters))
            .Concat(Head.Norm?.Parameters ?? [])
            .Concat(Head.Fc.Parameters);

    /// <summary>Every buffer in state_dict order.</summary>
    public IEnumerable<TensorSpec> Buffers => Modules.SelectMany(m => m.Buffers);

    /// <summary>Describes the model <paramref name="c"/> configures (validating it first).</summary>
    public static CctArchitecture Of(CctConfig c)
    {
        c.Validate();
        var stages = new List<ConvStageSpec>();
        int side = c.ImageSize, inChannels = c.InChannels;
        var channels = c.TokenizerChannels;
        for (var i = 0; i < channels.Count; i++)
        {
            var outChannels = channels[i];
            var conv = new Conv2dShape(1, inChannels, side, side, outChannels, c.Kernel, 1, c.Kernel / 2);
            side = conv.OutHeight;
            Pool2dShape? pool = null;
            if (c.PoolAfterEveryConv || i == channels.Count - 1)
            {
                pool = new Pool2dShape(1, outChannels, side, side, c.PoolKernel, c.PoolStride, c.PoolPadding);
                side = pool.Value.OutHeight;
            }

            var norm = c.BatchNorm ? new BatchNormSpec($"tokenizer.conv_layers.{i}.1", outChannels) : null;
            stages.Add(new ConvStageSpec(i, conv, c.ConvBias, norm, c.ConvDropout, pool));
            inChannels = outChannels;
        }

        int t = c.Tokens, d = c.Dim, h = c.MlpHidden;
        var official = c.Layout == BlockLayout.Official;
        var blocks = Enumerable.Range(0, c.Layers).Select(j =>
        {
            var p = $"classifier.blocks.{j}.";
            return new BlockSpec(
                j,
                c.Layout,
                t,
                d,
                c.Heads,
                h,
                c.AttentionDropout,
                c.Layers == 1 ? 0f : c.StochasticDepth * j / (c.Layers - 1),
                official ? new LayerNormSpec(p + "pre_norm", d) : null,
                new LinearSpec(p + "self_attn.qkv", d, 3 * d, c.AttentionBias),
                new LinearSpec(p + "self_attn.proj", d, d, HasBias: true),
                new LinearSpec(p + "linear1", d, h, HasBias: true),
                new LayerNormSpec(p + "norm1", d),
                new LinearSpec(p + "linear2", h, d, HasBias: true),
                official ? null : new LayerNormSpec(p + "norm2", d));
        }).ToList();

        var head = new HeadSpec(
            t,
            d,
            c.Classes,
            official ? new LayerNormSpec("classifier.norm", d) : null,
            c.Pooling,
            c.Pooling == PoolingKind.Seq ? new LinearSpec("classifier.attention_pool", d, 1, HasBias: true) : null,
            new LinearSpec("classifier.fc", d, c.Classes, HasBias: true));
        return new CctArchitecture(c, stages, new TokensSpec(c.PositionalEmbedding, t, d), blocks, head);
    }
}
