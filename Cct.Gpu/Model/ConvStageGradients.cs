using ILGPU;

namespace Cct.Gpu.Model;

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
