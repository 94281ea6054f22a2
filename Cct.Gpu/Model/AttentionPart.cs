using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// Multi-head self-attention ("self_attn"): qkv = x·Wᵀ [+ b], softmax(q·kᵀ/√hs) with dropout on the probabilities, then
/// the output projection.
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
        Attention.For(device).Forward(a.Mixed, new AttentionTensors(a.Qkv, a.Probabilities), Shape(pass), pass.Rate(dropout), pass.Key(dropout)); // (B, T, C)
        linear.Forward(a.Output, a.Mixed, proj.Values, true, rows, c, c); // (B, T, C)
    }

    /// <summary>From g.Output: accumulates inputGradient (B, T, C) and the parameter gradients.</summary>
    public void Backward(ArrayView<float> inputGradient, AttentionGradients g, ArrayView<float> input, Pass pass)
    {
        var a = activations;
        var (rows, c) = (pass.Batch * spec.Tokens, spec.Dim);
        var linear = Linear.For(device);
        linear.Backward(g.Mixed, proj.Gradients, g.Output, a.Mixed, proj.Weight.Value, true, rows, c, c);
        Attention.For(device).Backward(new AttentionTensorGradients(g.Qkv, scratch.AttentionProbabilitiesGradient), g.Mixed, new AttentionTensors(a.Qkv, a.Probabilities), Shape(pass), pass.Rate(dropout), pass.Key(dropout));
        linear.Backward(inputGradient, qkv.Gradients, g.Qkv, input, qkv.Weight.Value, qkv.Spec.HasBias, rows, c, 3 * c);
    }

    private AttentionShape Shape(Pass pass) => new(pass.Batch, spec.Tokens, spec.Dim, spec.Heads);
}
