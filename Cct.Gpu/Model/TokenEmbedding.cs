using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// The tokenizer's output (B, C, h, w) as tokens (B, T, C), T = h·w, plus the positional embedding (1, T, C): a
/// parameter (learnable), a buffer (sine), or none.
/// </summary>
internal sealed class TokenEmbedding(ComputeDevice device, TokensSpec spec, ParameterViews? learnable, ArrayView<float>? sine, ArrayView<float> tokens)
{
    /// <summary>The tokens (B, T, C).</summary>
    public ArrayView<float> Output => tokens;

    public void Forward(ArrayView<float> input, Pass pass)
    {
        // Without an embedding the kernel ignores the view; the output stands in.
        var positional = learnable?.Value ?? sine ?? tokens; // (1, T, C)
        Tokens.For(device).Forward(tokens, input, positional, spec.Kind != PositionalEmbeddingKind.None, Shape(pass));
    }

    /// <summary>Accumulates inputGradient (B, C, h, w) and, when learnable, the embedding's gradient from outputGradient (B, T, C).</summary>
    public void Backward(ArrayView<float> inputGradient, ArrayView<float> outputGradient, Pass pass)
        => Tokens.For(device).Backward(inputGradient, learnable?.Gradient ?? outputGradient, outputGradient, learnable is not null, Shape(pass));

    private TokensShape Shape(Pass pass) => new(pass.Batch, spec.Dim, spec.Tokens);
}
