using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>linear1 → GELU (official) or ReLU (post-norm) → linear2.</summary>
internal sealed class MlpPart(ComputeDevice device, BlockSpec spec, LinearParameters linear1, LinearParameters linear2, MlpActivations activations)
{
    private bool Gelu => spec.Layout == BlockLayout.Official;

    /// <summary>input (B, T, C) → <see cref="MlpActivations.Output"/> (B, T, C).</summary>
    public void Forward(ArrayView<float> input, Pass pass)
    {
        var a = activations;
        var (rows, c, h) = (pass.Batch * spec.Tokens, spec.Dim, spec.Hidden);
        var linear = Linear.For(device);
        if (Gelu)
        {
            // GELU is applied in linear1's GEMM on GPUs: one launch fewer.
            linear.ForwardGelu(a.Hidden, a.Activated, input, linear1.Values, rows, c, h); // (B, T, H)
        }
        else
        {
            linear.Forward(a.Hidden, input, linear1.Values, true, rows, c, h); // (B, T, H)
            Relu.For(device).Forward(a.Activated, a.Hidden, (long)rows * h);
        }

        linear.Forward(a.Output, a.Activated, linear2.Values, true, rows, h, c); // (B, T, C)
    }

    /// <summary>From g.Output: accumulates inputGradient (B, T, C) and the parameter gradients.</summary>
    public void Backward(ArrayView<float> inputGradient, MlpGradients g, ArrayView<float> input, Pass pass)
    {
        var a = activations;
        var (rows, c, h) = (pass.Batch * spec.Tokens, spec.Dim, spec.Hidden);
        var linear = Linear.For(device);
        linear.Backward(g.Activated, linear2.Gradients, g.Output, a.Activated, linear2.Weight.Value, true, rows, h, c);
        if (Gelu)
        {
            // GELU's gradient is formed in linear1's bias kernel: one launch fewer.
            linear.BackwardThroughGelu(inputGradient, linear1.Gradients, g.Hidden, g.Activated, a.Hidden, input, linear1.Weight.Value, rows, c, h);
        }
        else
        {
            Relu.For(device).Backward(g.Hidden, g.Activated, a.Hidden, (long)rows * h);
            linear.Backward(inputGradient, linear1.Gradients, g.Hidden, input, linear1.Weight.Value, true, rows, c, h);
        }
    }
}
