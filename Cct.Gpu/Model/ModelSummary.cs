namespace Cct.Gpu.Model;

/// <summary>One row of a model summary: a layer, its output shape for one image, its parameter count.</summary>
public sealed record SummaryRow(string Layer, string Shape, long Parameters);

/// <summary>A torchinfo-style layer table computed from a config alone (no device needed).</summary>
public static class ModelSummary
{
    public static IReadOnlyList<SummaryRow> Rows(CctConfig c)
    {
        var rows = new List<SummaryRow>();
        var side = c.ImageSize;
        var inChannels = c.InChannels;
        var channels = c.TokenizerChannels;
        for (var i = 0; i < channels.Count; i++)
        {
            var outChannels = channels[i];
            var prefix = $"tokenizer.conv_layers.{i}";
            side = side + (2 * (c.Kernel / 2)) - c.Kernel + 1;
            rows.Add(new($"{prefix}.0 Conv2d {c.Kernel}x{c.Kernel}", Shape(outChannels, side, side), (long)outChannels * inChannels * c.Kernel * c.Kernel));
            if (c.BatchNorm)
            {
                rows.Add(new($"{prefix}.1 BatchNorm2d", Shape(outChannels, side, side), 2L * outChannels));
            }

            rows.Add(new($"{prefix} ReLU{(c.ConvDropout > 0 ? $" + Dropout({c.ConvDropout})" : string.Empty)}", Shape(outChannels, side, side), 0));
            if (c.PoolAfterEveryConv || i == channels.Count - 1)
            {
                side = ((side + (2 * c.PoolPadding) - c.PoolKernel) / c.PoolStride) + 1;
                rows.Add(new($"{prefix} MaxPool2d({c.PoolKernel}, {c.PoolStride}, {c.PoolPadding})", Shape(outChannels, side, side), 0));
            }

            inChannels = outChannels;
        }

        int t = c.Tokens, d = c.Dim, h = c.MlpHidden;
        var tokens = Shape(t, d);
        rows.Add(new($"tokens + positional embedding ({c.PositionalEmbedding.ToString().ToLowerInvariant()})", tokens, c.PositionalEmbedding == PositionalEmbeddingKind.Learnable ? (long)t * d : 0));
        var attention = (3L * d * d) + ((long)d * d) + d;
        var mlp = ((long)d * h) + h + ((long)h * d) + d;
        var norms = 4L * d; // two LayerNorms per block in either layout
        for (var j = 0; j < c.Layers; j++)
        {
            var kind = c.Layout == BlockLayout.Official ? "pre-norm, GELU" : "post-norm, ReLU";
            rows.Add(new($"classifier.blocks.{j} ({c.Heads} heads, mlp {h}, {kind})", tokens, attention + mlp + norms));
        }

        if (c.Layout == BlockLayout.Official)
        {
            rows.Add(new("classifier.norm LayerNorm", tokens, 2L * d));
        }

        rows.Add(c.Pooling == PoolingKind.Seq
            ? new("classifier.attention_pool SeqPool", Shape(d), d + 1L)
            : new("mean pool", Shape(d), 0));
        rows.Add(new("classifier.fc Linear", Shape(c.Classes), ((long)d * c.Classes) + c.Classes));
        return rows;
    }

    /// <summary>
    /// Floating-point operations of one image's forward pass, counting 2 per multiply-add of the convs,
    /// linears and the two attention products (QKᵀ and PV); elementwise work is left out. A training step
    /// costs about 3x this (backward computes two products per forward product).
    /// </summary>
    public static double ForwardFlopsPerImage(CctConfig c)
    {
        var flops = 0.0;
        var side = c.ImageSize;
        var inChannels = c.InChannels;
        var channels = c.TokenizerChannels;
        for (var i = 0; i < channels.Count; i++)
        {
            var outChannels = channels[i];
            side = side + (2 * (c.Kernel / 2)) - c.Kernel + 1;
            flops += 2.0 * side * side * outChannels * inChannels * c.Kernel * c.Kernel;
            if (c.PoolAfterEveryConv || i == channels.Count - 1)
            {
                side = ((side + (2 * c.PoolPadding) - c.PoolKernel) / c.PoolStride) + 1;
            }

            inChannels = outChannels;
        }

        double t = c.Tokens, d = c.Dim, h = c.MlpHidden;
        var linears = (3 * d * d) + (d * d) + (2 * d * h);
        var attention = 2 * t * t * d; // QKᵀ and PV over all heads
        flops += c.Layers * 2 * ((t * linears) + attention);
        flops += 2 * t * d; // SeqPool's scores, or the mean
        flops += 2 * d * c.Classes;
        return flops;
    }

    private static string Shape(params int[] dims) => "(" + string.Join(", ", dims) + ")";
}
