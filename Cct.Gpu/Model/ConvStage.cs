using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// One tokenizer layer: conv [+ bias] → [BatchNorm] → ReLU → [dropout] → [max-pool], as the official
/// tokenizer's conv_layers.{i} (the seed notebook's adds BatchNorm, biases and dropout, and pools once). Without
/// dropout a pooled stage runs the pool first and the ReLU on its output, in one launch (<see cref="ConvStageSpec.PoolsBeforeRelu"/>).
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
                BatchNorm2d.For(device).ForwardTraining(bn.Output, bn.Statistics, norm!.RunningMean, norm.RunningVar, a.Conv, norm.Values, shape);
            }
            else
            {
                BatchNorm2d.For(device).ForwardEval(bn.Output, a.Conv, norm!.Values, norm.RunningMean, norm.RunningVar, shape);
            }
        }

        var normalised = a.Norm?.Output ?? a.Conv;
        if (spec.PoolsBeforeRelu)
        {
            MaxPool2d.For(device).ForwardRelu(a.Pooled!.Value, a.Argmax, normalised, spec.Pool!.Value with { Batch = pass.Batch }); // (B, Cout, H', W')
            return;
        }

        Relu.For(device).Forward(a.Relu!.Value, normalised, count);
        if (a.Dropped is { } dropped)
        {
            Dropout.For(device).Forward(dropped, a.Relu.Value, count, pass.Rate(dropout), pass.Key(dropout));
        }

        if (spec.Pool is { } pool)
        {
            MaxPool2d.For(device).Forward(a.Pooled!.Value, a.Argmax, a.Dropped ?? a.Relu.Value, pool with { Batch = pass.Batch }); // (B, Cout, H', W')
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
        if (spec.PoolsBeforeRelu)
        {
            MaxPool2d.For(device).BackwardThroughRelu(g.Norm ?? g.Conv, g.Pooled!.Value, a.Argmax, a.Pooled!.Value, spec.Pool!.Value with { Batch = pass.Batch });
        }
        else
        {
            if (spec.Pool is { } pool)
            {
                MaxPool2d.For(device).Backward(g.Dropped ?? g.Relu!.Value, g.Pooled!.Value, a.Argmax, pool with { Batch = pass.Batch });
            }

            if (g.Dropped is { } dropped)
            {
                Dropout.For(device).Backward(g.Relu!.Value, dropped, count, pass.Rate(dropout), pass.Key(dropout));
            }

            Relu.For(device).Backward(g.Norm ?? g.Conv, g.Relu!.Value, a.Norm?.Output ?? a.Conv, count);
        }

        if (a.Norm is { } bn)
        {
            var shape = new BatchNormShape(pass.Batch, conv.OutChannels, conv.OutHeight * conv.OutWidth);
            BatchNorm2d.For(device).Backward(g.Conv, norm!.Gradients, g.Norm!.Value, a.Conv, bn.Statistics, norm.Weight.Value, shape);
        }

        if (bias is { } b)
        {
            Conv2d.For(device).BackwardBias(b.Gradient, g.Conv, conv);
        }

        // Without an input gradient (the first stage) the kernel ignores the view; the conv's own gradient stands in.
        Conv2d.For(device).Backward(new Conv2dGradients(inputGradient ?? g.Conv, weight.Gradient), g.Conv, input, weight.Value, conv, inputGradient: inputGradient is not null);
    }
}
