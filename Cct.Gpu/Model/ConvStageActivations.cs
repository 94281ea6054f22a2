using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// A conv stage's activations, each (B, Cout, H, W) but the pool's (B, Cout, H', W'). Before a max-pool, what the
/// backward pass does not read lives in <see cref="Scratch"/>: a stage that pools before its ReLU
/// (<see cref="ConvStageSpec.PoolsBeforeRelu"/>) keeps only its pooled, ReLU'd output and argmax, and its BatchNorm's
/// input if it has one (the pool reads the conv or BatchNorm output from scratch, and there is no
/// <see cref="Relu"/>); one with dropout before the pool keeps its ReLU and dropout outputs in scratch.
/// <see cref="Output"/> is the last one the stage has.
/// </summary>
internal sealed record ConvStageActivations(ArrayView<float> Conv, BatchNormActivations? Norm, ArrayView<float>? Relu, ArrayView<float>? Dropped, ArrayView<float>? Pooled, ArrayView<int> Argmax)
{
    public ArrayView<float> Output => Pooled ?? Dropped ?? Relu!.Value;

    public static ConvStageActivations Create(TensorArena<float> arena, TensorArena<int> argmax, Scratch scratch, ConvStageSpec s)
    {
        var size = s.ConvOutputSize;
        var c = s.Conv.OutChannels;
        var pooled = s.Pool is not null;
        var prePool = TensorArena<float>.Head(scratch.PrePool, (long)arena.Batch * size);
        ArrayView<float> conv;
        BatchNormActivations? norm = null;
        ArrayView<float>? relu = null;
        ArrayView<float>? dropped = null;
        if (s.PoolsBeforeRelu)
        {
            // The pool's input lives in scratch: the conv output, or the BatchNorm's (whose backward reads the conv output).
            conv = s.Norm is null ? prePool : arena.PerSample(size);
            norm = s.Norm is null ? null : new BatchNormActivations(prePool, arena.Fixed(c), arena.Fixed(c));
        }
        else
        {
            conv = arena.PerSample(size);
            norm = s.Norm is null ? null : new BatchNormActivations(arena.PerSample(size), arena.Fixed(c), arena.Fixed(c));
            relu = pooled ? prePool : arena.PerSample(size);
            dropped = s.DropoutRate > 0 ? pooled ? TensorArena<float>.Head(scratch.DroppedPrePool, (long)arena.Batch * size) : arena.PerSample(size) : null;
        }

        var output = s.OutputShape;
        return new(conv, norm, relu, dropped, pooled ? arena.PerSample(output) : null, pooled ? argmax.PerSample(output) : default);
    }
}
