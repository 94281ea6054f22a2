using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// A conv stage's activations, each (B, Cout, H, W) but the pool's (B, Cout, H', W'). Before a max-pool the ReLU and
/// dropout outputs live in <see cref="Scratch"/>; <see cref="Output"/> is the last one the stage has.
/// </summary>
internal sealed record ConvStageActivations(ArrayView<float> Conv, BatchNormActivations? Norm, ArrayView<float> Relu, ArrayView<float>? Dropped, ArrayView<float>? Pooled, ArrayView<int> Argmax)
{
    public ArrayView<float> Output => Pooled ?? Dropped ?? Relu;

    public static ConvStageActivations Create(TensorArena<float> arena, TensorArena<int> argmax, Scratch scratch, ConvStageSpec s)
    {
        var size = s.ConvOutputSize;
        var c = s.Conv.OutChannels;
        var conv = arena.PerSample(size);
        var norm = s.Norm is null ? null : new BatchNormActivations(arena.PerSample(size), arena.Fixed(c), arena.Fixed(c));
        var pooled = s.Pool is not null;
        var relu = pooled ? TensorArena<float>.Head(scratch.PrePool, (long)arena.Batch * size) : arena.PerSample(size);
        ArrayView<float>? dropped = s.DropoutRate > 0 ? pooled ? TensorArena<float>.Head(scratch.DroppedPrePool, (long)arena.Batch * size) : arena.PerSample(size) : null;
        var output = s.OutputShape;
        return new(conv, norm, relu, dropped, pooled ? arena.PerSample(output) : null, pooled ? argmax.PerSample(output) : default);
    }
}
