using Cct.Gpu.Layers;

namespace Cct.Gpu.Model;

/// <summary>
/// Tokenizer layer <see cref="Index"/> ("tokenizer.conv_layers.{i}"): conv (weight, optional bias) → [BatchNorm] →
/// ReLU → [dropout at <see cref="DropoutRate"/> while training] → [max-pool]. Shapes carry batch 1; the model sets its batch.
/// </summary>
internal sealed record ConvStageSpec(int Index, Conv2dShape Conv, bool HasBias, BatchNormSpec? Norm, float DropoutRate, Pool2dShape? Pool) : ModuleSpec
{
    /// <summary>The state_dict prefix of the layer.</summary>
    public string Prefix => $"tokenizer.conv_layers.{Index}";

    /// <summary>The conv weight (Cout, Cin, K, K).</summary>
    public TensorSpec Weight => new(Prefix + ".0.weight", [Conv.OutChannels, Conv.InChannels, Conv.Kernel, Conv.Kernel], TensorInit.KaimingNormal);

    /// <summary>The conv bias (Cout); null without one.</summary>
    public TensorSpec? Bias => HasBias ? new(Prefix + ".0.bias", [Conv.OutChannels]) : null;

    /// <summary>Values of one image after the conv (Cout · H · W), as after BatchNorm, ReLU and dropout.</summary>
    public int ConvOutputSize => Conv.OutChannels * Conv.OutHeight * Conv.OutWidth;

    /// <summary>
    /// Whether the stage max-pools before its ReLU: with no dropout between them the two commute (relu(max(x)) =
    /// max(relu(x)), and a gradient reaches the same element), so the pool reads the conv (or BatchNorm) output from
    /// scratch, the ReLU runs on the pooled values in the same launch, and the pool's backward gates on the pooled
    /// output. The stage then keeps neither its conv output (without BatchNorm; it goes to scratch, where the ReLU
    /// output went) nor a ReLU gradient: cct-2/3x2 holds 150,528 fewer values an image, cct-7/3x1 401,408, half of each
    /// in activations and half in gradients. With dropout in between they do not commute.
    /// </summary>
    public bool PoolsBeforeRelu => Pool is not null && DropoutRate == 0;

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
