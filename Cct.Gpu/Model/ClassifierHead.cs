using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// The classifier on the last block's tokens: [final LayerNorm] → sequence pooling or mean → linear → logits, and the
/// smoothed cross-entropy against labels.
/// </summary>
internal sealed class ClassifierHead(ComputeDevice device, HeadSpec spec, ParameterSet parameters, HeadActivations activations)
{
    private readonly LayerNormParameters? norm = spec.Norm is { } n ? LayerNormParameters.Of(parameters, n) : null;
    private readonly LinearParameters? attentionPool = spec.AttentionPool is { } p ? LinearParameters.Of(parameters, p) : null;
    private readonly LinearParameters fc = LinearParameters.Of(parameters, spec.Fc);

    public HeadActivations Activations => activations;

    /// <summary>input (B, T, C) → <see cref="HeadActivations.Logits"/> (B, K).</summary>
    public void Forward(ArrayView<float> input, Pass pass)
    {
        var a = activations;
        var (b, t, c) = (pass.Batch, spec.Tokens, spec.Dim);
        if (a.Norm is { } ln)
        {
            LayerNorm.For(device).Forward(ln.Output, ln.Statistics, input, norm!.Values, b * t, c); // (B, T, C)
        }

        var tokens = a.Norm?.Output ?? input;
        if (attentionPool is { } pool)
        {
            SeqPool.For(device).Forward(a.Pooled, a.PoolingWeights!.Value, tokens, pool.Values, b, t, c); // (B, C)
        }
        else
        {
            MeanPool.For(device).Forward(a.Pooled, tokens, b, t, c); // (B, C)
        }

        Linear.For(device).Forward(a.Logits, a.Pooled, fc.Values, true, b, c, spec.Classes); // (B, K)
    }

    /// <summary>Losses (B), their mean (1) and probabilities (B, K) of the logits against labels (B).</summary>
    public void ForwardLoss(ArrayView<int> labels, float labelSmoothing, Pass pass)
    {
        var a = activations;
        CrossEntropy.For(device).Forward(a.Loss, a.Losses, a.Probabilities, a.Logits, labels, pass.Batch, spec.Classes, labelSmoothing);
    }

    /// <summary>
    /// <see cref="ForwardLoss"/> and, from the same probabilities, g.Logits (B, K) += the gradient of the mean loss: one
    /// launch on GPUs (as llm.c's fused classifier), where a batch by the classes is far too little work to hide a launch.
    /// </summary>
    public void ForwardLossAndGradient(HeadGradients g, ArrayView<int> labels, float labelSmoothing, Pass pass)
    {
        var a = activations;
        CrossEntropy.For(device).ForwardBackward(a.Loss, a.Losses, a.Probabilities, g.Logits, a.Logits, labels, pass.Batch, spec.Classes, labelSmoothing);
    }

    /// <summary>From g.Logits: accumulates inputGradient (B, T, C) and the parameter gradients.</summary>
    public void Backward(ArrayView<float> inputGradient, HeadGradients g, ArrayView<float> input, Pass pass)
    {
        var a = activations;
        var (b, t, c) = (pass.Batch, spec.Tokens, spec.Dim);
        Linear.For(device).Backward(g.Pooled, fc.Gradients, g.Logits, a.Pooled, fc.Weight.Value, true, b, c, spec.Classes);
        var tokens = a.Norm?.Output ?? input;
        var tokensGradient = g.Norm ?? inputGradient;
        if (attentionPool is { } pool)
        {
            SeqPool.For(device).Backward(tokensGradient, pool.Gradients, g.Pooled, tokens, a.PoolingWeights!.Value, pool.Weight.Value, b, t, c);
        }
        else
        {
            MeanPool.For(device).Backward(tokensGradient, g.Pooled, b, t, c);
        }

        if (a.Norm is { } ln)
        {
            LayerNorm.For(device).Backward(inputGradient, norm!.Gradients, g.Norm!.Value, input, ln.Statistics, norm.Weight.Value, b * t, c);
        }
    }
}
