using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// Gradients of a conv stage's activations. A stage that pools before its ReLU (<see cref="ConvStageSpec.PoolsBeforeRelu"/>)
/// has no ReLU gradient: the pool's backward applies the ReLU's mask.
/// </summary>
internal sealed record ConvStageGradients(ArrayView<float> Conv, ArrayView<float>? Norm, ArrayView<float>? Relu, ArrayView<float>? Dropped, ArrayView<float>? Pooled)
{
    public ArrayView<float> Output => Pooled ?? Dropped ?? Relu!.Value;

    /// <summary>
    /// Takes the stage's gradients from a planned <paramref name="arena"/>: the output gradient is live from
    /// <paramref name="outputBorn"/> (the phase whose backward writes it) to the stage's own <paramref name="phase"/>,
    /// the others only in that phase.
    /// </summary>
    public static ConvStageGradients Create(TensorArena<float> arena, ConvStageSpec s, int outputBorn, int phase)
    {
        var size = s.ConvOutputSize;
        var pooled = s.Pool is not null;
        var dropped = s.DropoutRate > 0;
        var relu = !s.PoolsBeforeRelu;
        ArrayView<float> Take(bool isOutput, params int[] shape) => arena.During(isOutput ? outputBorn : phase, phase).PerSample(shape);
        return new(
            Take(false, size),
            s.Norm is null ? null : Take(false, size),
            relu ? Take(!pooled && !dropped, size) : null,
            dropped ? Take(!pooled, size) : null,
            pooled ? Take(true, s.OutputShape) : null);
    }
}
