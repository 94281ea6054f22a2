using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// Multi-head self-attention ("self_attn"): qkv = x·Wᵀ [+ b], softmax(q·kᵀ/√hs) with dropout on the probabilities, then
/// the output projection. The core runs fused (<see cref="FlashAttention"/>) when the activations were laid out for it
/// (<see cref="AttentionActivations.Fused"/>, chosen once per model by <see cref="Attention.Fuses"/>), else on
/// <see cref="Attention"/>'s path for the device.
/// </summary>
internal sealed class AttentionPart(ComputeDevice device, BlockSpec spec, LinearParameters qkv, LinearParameters proj, AttentionActivations activations, Scratch scratch)
{
    private readonly DropoutSite dropout = DropoutSite.Attention(spec.AttentionDropout, spec.Index);

    public AttentionActivations Activations => activations;

    /// <summary>input (B, T, C) → <see cref="AttentionActivations.Output"/> (B, T, C).</summary>
    public void Forward(ArrayView<float> input, Pass pass)
    {
        var a = activations;
        var (rows, c) = (pass.Batch * spec.Tokens, spec.Dim);
        var linear = Linear.For(device);
        linear.Forward(a.Qkv, input, qkv.Values, qkv.Spec.HasBias, rows, c, 3 * c); // (B, T, 3C)
        if (a.Fused)
        {
            FlashAttention.For(device).Forward(a.Mixed, a.Saved, a.Qkv, Shape(pass), pass.Rate(dropout), pass.Key(dropout)); // (B, T, C), log-sum-exp (B, H, T)
        }
        else
        {
            Attention.For(device).Forward(a.Mixed, new AttentionTensors(a.Qkv, a.Saved), Shape(pass), pass.Rate(dropout), pass.Key(dropout)); // (B, T, C), probabilities (B, H, T, T)
        }

        linear.Forward(a.Output, a.Mixed, proj.Values, true, rows, c, c); // (B, T, C)
    }

    /// <summary>From g.Output: accumulates inputGradient (B, T, C) and the parameter gradients.</summary>
    public void Backward(ArrayView<float> inputGradient, AttentionGradients g, ArrayView<float> input, Pass pass)
    {
        var a = activations;
        var (rows, c) = (pass.Batch * spec.Tokens, spec.Dim);
        var linear = Linear.For(device);
        linear.Backward(g.Mixed, proj.Gradients, g.Output, a.Mixed, proj.Weight.Value, true, rows, c, c);
        if (a.Fused)
        {
            FlashAttention.For(device).Backward(g.Qkv, scratch.AttentionBackward, g.Mixed, a.Qkv, a.Mixed, a.Saved, Shape(pass), pass.Rate(dropout), pass.Key(dropout));
        }
        else
        {
            Attention.For(device).Backward(new AttentionTensorGradients(g.Qkv, scratch.AttentionBackward), g.Mixed, new AttentionTensors(a.Qkv, a.Saved), Shape(pass), pass.Rate(dropout), pass.Key(dropout));
        }

        linear.Backward(inputGradient, qkv.Gradients, g.Qkv, input, qkv.Weight.Value, qkv.Spec.HasBias, rows, c, 3 * c);
    }

    private AttentionShape Shape(Pass pass) => new(pass.Batch, spec.Tokens, spec.Dim, spec.Heads);
}
