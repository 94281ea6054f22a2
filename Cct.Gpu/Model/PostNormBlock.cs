using Cct.Gpu.Runtime;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// The seed notebook's block, torch.nn.TransformerEncoderLayer with norm_first=False: x = LN1(x + Attn(x));
/// x = LN2(x + MLP_ReLU(x)).
/// </summary>
internal sealed class PostNormBlock(ComputeDevice device, BlockSpec spec, ParameterSet parameters, BlockActivations activations, Scratch scratch)
    : TransformerBlock(device, spec, parameters, activations, scratch)
{
    private readonly LayerNormParameters norm2 = LayerNormParameters.Of(parameters, spec.Norm2!);

    /// <inheritdoc/>
    public override ArrayView<float> Output => Activations.Norm2!.Output;

    /// <inheritdoc/>
    public override void Forward(ArrayView<float> input, Pass pass)
    {
        var a = Activations;
        Attention.Forward(input, pass);
        ForwardResidualNorm(a.Norm1, a.Residual1, input, a.Attention.Output, Norm1, AttentionDropPath, pass);
        Mlp.Forward(a.Norm1.Output, pass);
        ForwardResidualNorm(a.Norm2!, a.Residual2, a.Norm1.Output, a.Mlp.Output, norm2, MlpDropPath, pass);
    }

    /// <inheritdoc/>
    public override void Backward(ArrayView<float> inputGradient, ArrayView<float> outputGradient, BlockGradients g, ArrayView<float> input, Pass pass)
    {
        var a = Activations;
        BackwardResidualNorm(g.Norm1, g.Mlp.Output, outputGradient, a.Norm2!, a.Residual2, norm2, MlpDropPath, pass);
        Mlp.Backward(g.Norm1, g.Mlp, a.Norm1.Output, pass);
        BackwardResidualNorm(inputGradient, g.Attention.Output, g.Norm1, a.Norm1, a.Residual1, Norm1, AttentionDropPath, pass);
        Attention.Backward(inputGradient, g.Attention, input, pass);
    }
}
