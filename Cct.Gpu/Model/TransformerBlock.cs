using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// A transformer block on tokens (B, T, C): attention and MLP parts with residuals, LayerNorms and drop-path (both
/// branches' masks per sample, at the block's stochastic-depth rate). <see cref="OfficialBlock"/> and
/// <see cref="PostNormBlock"/> place the norms.
/// </summary>
internal abstract class TransformerBlock
{
    private protected TransformerBlock(ComputeDevice device, BlockSpec spec, ParameterSet parameters, BlockActivations activations, Scratch scratch)
    {
        Device = device;
        Spec = spec;
        Activations = activations;
        Attention = new AttentionPart(device, spec, LinearParameters.Of(parameters, spec.Qkv), LinearParameters.Of(parameters, spec.Proj), activations.Attention, scratch);
        Mlp = new MlpPart(device, spec, LinearParameters.Of(parameters, spec.Linear1), LinearParameters.Of(parameters, spec.Linear2), activations.Mlp);
        Norm1 = LayerNormParameters.Of(parameters, spec.Norm1);
        AttentionDropPath = DropoutSite.AttentionDropPath(spec.DropPathRate, spec.Index);
        MlpDropPath = DropoutSite.MlpDropPath(spec.DropPathRate, spec.Index);
    }

    /// <summary>The block's output (B, T, C).</summary>
    public abstract ArrayView<float> Output { get; }

    /// <summary>Attention's qkv (B, T, 3C) of the last forward.</summary>
    public ArrayView<float> AttentionQkv => Activations.Attention.Qkv;

    private protected ComputeDevice Device { get; }

    private protected BlockSpec Spec { get; }

    private protected BlockActivations Activations { get; }

    private protected AttentionPart Attention { get; }

    private protected MlpPart Mlp { get; }

    private protected LayerNormParameters Norm1 { get; }

    private protected DropoutSite AttentionDropPath { get; }

    private protected DropoutSite MlpDropPath { get; }

    /// <summary>input (B, T, C) → <see cref="Output"/> (B, T, C).</summary>
    public abstract void Forward(ArrayView<float> input, Pass pass);

    /// <summary>
    /// From outputGradient (B, T, C): accumulates inputGradient (B, T, C) and the parameter gradients, through the
    /// block's intermediate gradients <paramref name="g"/> (zeroed by the caller).
    /// </summary>
    public abstract void Backward(ArrayView<float> inputGradient, ArrayView<float> outputGradient, BlockGradients g, ArrayView<float> input, Pass pass);

    /// <summary>output = LN(sum), sum = input + drop_path(branch): one launch on GPUs.</summary>
    private protected void ForwardResidualNorm(LayerNormActivations output, ArrayView<float> sum, ArrayView<float> input, ArrayView<float> branch, LayerNormParameters norm, DropoutSite dropPath, Pass pass)
        => LayerNorm.For(Device).ForwardResidual(output.Output, output.Statistics, sum, input, branch, norm.Values, Rows(pass), Spec.Dim, Mask(dropPath, pass));

    private protected void BackwardResidualNorm(ArrayView<float> inputGradient, ArrayView<float> branchGradient, ArrayView<float> outputGradient, LayerNormActivations output, ArrayView<float> sum, LayerNormParameters norm, DropoutSite dropPath, Pass pass)
        => LayerNorm.For(Device).BackwardResidual(inputGradient, branchGradient, norm.Gradients, outputGradient, sum, output.Statistics, norm.Weight.Value, Rows(pass), Spec.Dim, Mask(dropPath, pass));

    private protected int Rows(Pass pass) => pass.Batch * Spec.Tokens;

    private protected DropPathMask Mask(DropoutSite dropPath, Pass pass) => DropPathMask.For(Spec.Tokens * Spec.Dim, pass.Rate(dropPath), pass.Key(dropPath));
}
