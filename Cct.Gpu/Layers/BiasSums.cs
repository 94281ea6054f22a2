using ILGPU;
using Cct.Gpu.Gemm;

namespace Cct.Gpu.Layers;

/// <summary>
/// A Linear's bias sums as the GPU backward launch's extra groups (<see cref="MatMul.RunLinearBackward"/>): the items of
/// <see cref="Linear.SumColumns{TGradient}"/> over doutput as given, one per thread, grid-stride over the groups.
/// </summary>
internal readonly record struct BiasSums(ArrayView<float> Partials, ArrayView<float> Dbias, ArrayView<float> Doutput, int Items, int Chunks, int Rows, int Columns) : IGroupWork
{
    public void Run(int group, int groups, int thread, int threads)
        => Linear.SumColumns<GivenGradient>(((long)group * threads) + thread, (long)groups * threads, Items, Chunks, Partials, Dbias, Doutput, Doutput, Doutput, Rows, Columns);
}
