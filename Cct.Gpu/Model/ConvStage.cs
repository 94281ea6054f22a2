using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>BatchNorm2d's output (B, Cout, H, W) and its batch statistics (Cout), which the backward pass reads.</summary>
internal sealed record BatchNormActivations(ArrayView<float> Output, ArrayView<float> Mean, ArrayView<float> Rstd);

/// <summary>
/// A conv stage's activations, each (B, Cout, H, W) but the pool's (B, Cout, H', W'). Before a max-pool the ReLU and
/// dropout outputs live in <see cref="Scratch"/>; <see cref="Output"/> is the last one the stage has.
/// </summary>
internal sealed record ConvStageActivations(ArrayView<float> Conv, BatchNormActivations? Norm, ArrayView<float> Relu, ArrayView<float>? Dropped, ArrayView<float>? Pooled, ArrayView<int> Argmax)
{
    public ArrayView<float> Output => Pooled ?? Dropped ?? Relu;

    public static ConvStageActivations Create(TensorArena<float> arena, TensorArena<int> argmax, Scratch scratch, ConvStageSpec s)
    {
        var size = s.ConvOutputSize;
        var c = s.Conv.OutChannels;
        var conv = arena.PerSample(size);
        var norm = s.Norm is null ? null : new BatchNormActivations(arena.PerSample(size), arena.Fixed(c), arena.Fixed(c));
        var pooled = s.Pool is not null;
        var relu = pooled ? TensorArena<float>.Head(scratch.PrePool, (long)arena.Batch * size) : arena.PerSample(size);
        ArrayView<float>? dropped = s.DropoutRate > 0 ? pooled ? TensorArena<float>.Head(scratch.DroppedPrePool, (long)arena.Batch * size) : arena.PerSample(size) : null;
        var output = s.OutputShape;
        return new(conv, norm, relu, dropped, pooled ? arena.PerSample(output) : null, pooled ? argmax.PerSample(output) : default);
    }
}

/// <summary>Gradients of a conv stage's activations: each has its own, transient or not.</summary>
internal sealed record ConvStageGradients(ArrayView<float> Conv, ArrayView<float>? Norm, ArrayView<float> Relu, ArrayView<float>? Dropped, ArrayView<float>? Pooled)
{
    public ArrayView<float> Output => Pooled ?? Dropped ?? Relu;

    public static ConvStageGradients Create(TensorArena<float> arena, ConvStageSpec s)
    {
        var size = s.ConvOutputSize;
        return new(
            arena.PerSample(size),
            s.Norm is null ? null : arena.PerSample(size),
            arena.PerSample(size),
            s.DropoutRate > 0 ? arena.PerSample(size) : null,
            s.Pool is null ? null : arena.PerSample(s.OutputShape));
    }
}

/// <summary>BatchNorm2d's weight and bias (Cout), and its running statistics (Cout), views into the model's buffers.</summary>
internal sealed record BatchNormParameters(ParameterViews Weight, ParameterViews Bias, ArrayView<float> RunningMean, ArrayView<float> RunningVar);

/// <summary>
/// One tokenizer layer: conv [+ bias] → [BatchNorm] → ReLU → [dropout] → [max-pool], as the official
/// tokenizer's conv_layers.{i} (the seed notebook's adds BatchNorm, biases and dropout, and pools once).
/// </summary>
internal sealed class ConvStage(ComputeDevice device, ConvStageSpec spec, ParameterViews weight, ParameterViews? bias, BatchNormParameters? norm, ConvStageActivations activations)
{
    private readonly DropoutSite dropout = DropoutSite.Tokenizer(spec.DropoutRate, spec.Index);

    public ConvStageActivations Activations => activations;

    /// <summary>input (B, Cin, H, W) → <see cref="ConvStageActivations.Output"/>; in training BatchNorm uses and updates batch statistics.</summary>
    public void Forward(ArrayView<float> input, Pass pass)
    {
        var a = activations;
        var conv = spec.Conv with { Batch = pass.Batch };
        Conv2d.For(device).Forward(a.Conv, input, weight.Value, conv); // (B, Cout, H, W)
        if (bias is { } b)
        {
            Conv2d.For(device).AddBias(a.Conv, b.Value, conv);
        }

        var count = (long)pass.Batch * spec.ConvOutputSize;
        if (a.Norm is { } bn)
        {
            var shape = new BatchNormShape(pass.Batch, conv.OutChannels, conv.OutHeight * conv.OutWidth);
            if (pass.Training)
            {
                BatchNorm2d.For(device).ForwardTraining(bn.Output, bn.Mean, bn.Rstd, norm!.RunningMean, norm.RunningVar, a.Conv, norm.Weight.Value, norm.Bias.Value, shape);
            }
            else
            {
                BatchNorm2d.For(device).ForwardEval(bn.Output, a.Conv, norm!.Weight.Value, norm.Bias.Value, norm.RunningMean, norm.RunningVar, shape);
            }
        }

        Relu.For(device).Forward(a.Relu, a.Norm?.Output ?? a.Conv, count);
        if (a.Dropped is { } dropped)
        {
            Dropout.For(device).Forward(dropped, a.Relu, count, pass.Rate(dropout), pass.Key(dropout));
        }

        if (spec.Pool is { } pool)
        {
            MaxPool2d.For(device).Forward(a.Pooled!.Value, a.Argmax, a.Dropped ?? a.Relu, pool with { Batch = pass.Batch }); // (B, Cout, H', W')
        }
    }

    /// <summary>
    /// From g.Output back through the conv: accumulates the parameter gradients, and the input gradient (B, Cin, H, W)
    /// into <paramref name="inputGradient"/> when there is one (there is none for the images).
    /// </summary>
    public void Backward(ArrayView<float>? inputGradient, ConvStageGradients g, ArrayView<float> input, Pass pass)
    {
        var a = activations;
        var conv = spec.Conv with { Batch = pass.Batch };
        var count = (long)pass.Batch * spec.ConvOutputSize;
        if (spec.Pool is { } pool)
        {
            MaxPool2d.For(device).Backward(g.Dropped ?? g.Relu, g.Pooled!.Value, a.Argmax, pool with { Batch = pass.Batch });
        }

        if (g.Dropped is { } dropped)
        {
            Dropout.For(device).Backward(g.Relu, dropped, count, pass.Rate(dropout), pass.Key(dropout));
        }

        Relu.For(device).Backward(g.Norm ?? g.Conv, g.Relu, a.Norm?.Output ?? a.Conv, count);
        if (a.Norm is { } bn)
        {
            var shape = new BatchNormShape(pass.Batch, conv.OutChannels, conv.OutHeight * conv.OutWidth);
            BatchNorm2d.For(device).Backward(g.Conv, norm!.Weight.Gradient, norm.Bias.Gradient, g.Norm!.Value, a.Conv, bn.Mean, bn.Rstd, norm.Weight.Value, shape);
        }

        if (bias is { } b)
        {
            Conv2d.For(device).BackwardBias(b.Gradient, g.Conv, conv);
        }

        // Without an input gradient (the first stage) the kernel ignores the view; the conv's own gradient stands in.
        Conv2d.For(device).Backward(inputGradient ?? g.Conv, weight.Gradient, g.Conv, input, weight.Value, conv, inputGradient: inputGradient is not null);
    }
}
