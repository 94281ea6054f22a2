using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// The official CCT block: x += Attn(LN_pre(x)); x = LN1(x); x += MLP_GELU(x), with LN1 on the residual stream as in
/// the official code.
/// </summary>
internal sealed class OfficialBlock(ComputeDevice device, BlockSpec spec, ParameterSet parameters, BlockActivations activations, Scratch scratch)
    : TransformerBlock(device, spec, parameters, activations, scratch)
{
    private readonly LayerNormParameters preNorm = LayerNormParameters.Of(parameters, spec.PreNorm!);

    /// <inheritdoc/>
    public override ArrayView<float> Output => Activations.Residual2;

    /// <inheritdoc/>
    public override void Forward(ArrayView<float> input, Pass pass)
    {
        var a = Activations;
        var ln0 = a.PreNorm!;
        LayerNorm.For(Device).Forward(ln0.Output, ln0.Statistics, input, preNorm.Values, Rows(pass), Spec.Dim); // (B, T, C)
        Attention.Forward(ln0.Output, pass);
        ForwardResidualNorm(a.Norm1, a.Residual1, input, a.Attention.Output, Norm1, AttentionDropPath, pass);
        Mlp.Forward(a.Norm1.Output, pass);
        Residual.For(Device).Forward(a.Residual2, a.Norm1.Output, a.Mlp.Output, pass.Batch, Spec.Tokens * Spec.Dim, pass.Rate(MlpDropPath), pass.Key(MlpDropPath));
    }

    /// <inheritdoc/>
    public override void Backward(ArrayView<float> inputGradient, ArrayView<float> outputGradient, BlockGradients g, ArrayView<float> input, Pass pass)
    {
        var a = Activations;
        Residual.For(Device).Backward(g.Norm1, g.Mlp.Output, outputGradient, pass.Batch, Spec.Tokens * Spec.Dim, pass.Rate(MlpDropPath), pass.Key(MlpDropPath));
        Mlp.Backward(g.Norm1, g.Mlp, a.Norm1.Output, pass);
        BackwardResidualNorm(inputGradient, g.Attention.Output, g.Norm1, a.Norm1, a.Residual1, Norm1, AttentionDropPath, pass);
        Attention.Backward(g.PreNorm!.Value, g.Attention, a.PreNorm!.Output, pass);
        LayerNorm.For(Device).Backward(inputGradient, preNorm.Gradients, g.PreNorm.Value, input, a.PreNorm.Statistics, preNorm.Weight.Value, Rows(pass), Spec.Dim);
    }
}
