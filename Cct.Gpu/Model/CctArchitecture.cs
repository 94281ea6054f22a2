using Cct.Gpu.Layers;

namespace Cct.Gpu.Model;

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
