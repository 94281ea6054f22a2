using Cct.Gpu.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Gpu.Model;

/// <summary>
/// The model's weight average (an EMA of the parameters and of the buffers, BatchNorm running statistics included),
/// kept on the device beside the weights and allocated only when a trainer asks for one.
/// </summary>
public sealed partial class CctModel
{
    private MemoryBuffer1D<float, Stride1D.Dense>? parameterAverage;
    private MemoryBuffer1D<float, Stride1D.Dense>? bufferAverage;
    private MemoryBuffer1D<float, Stride1D.Dense>? parameterBackup;
    private MemoryBuffer1D<float, Stride1D.Dense>? bufferBackup;

    /// <summary>Whether the model holds a weight average (<see cref="StartWeightAverage"/> or a checkpoint's).</summary>
    internal bool HasWeightAverage => parameterAverage is not null;

    /// <summary>The averaged parameters (flat, in <see cref="Parameters"/>' layout); allocates (zeros) the average if there is none.</summary>
    internal ArrayView<float> ParameterAverage => EnsureAverage().Parameters.View;

    /// <summary>The averaged buffers (flat, in <see cref="BufferLayout"/>); allocates the average if there is none.</summary>
    internal ArrayView<float> BufferAverage => EnsureAverage().Buffers.View;

    /// <summary>The buffers (flat, in <see cref="BufferLayout"/>).</summary>
    internal ArrayView<float> BufferValues => buffers.View;

    /// <summary>Starts the average at the current weights and buffers (a run's step 0).</summary>
    internal void StartWeightAverage()
    {
        ThrowIfDisposed();
        var (p, b) = EnsureAverage();
        p.View.CopyFrom(Parameters.Values.View);
        b.View.CopyFrom(buffers.View);
    }

    /// <summary>average += rate·(weights − average) for parameters and buffers, on the device; rate is 1 − decay.</summary>
    internal void UpdateWeightAverage(float rate)
    {
        ThrowIfDisposed();
        var (p, b) = EnsureAverage();
        var average = WeightAverage.For(device);
        average.Update(p.View, Parameters.Values.View, rate);
        average.Update(b.View, buffers.View, rate);
    }

    /// <summary>
    /// Runs <paramref name="action"/> with the averaged weights and buffers in place of the model's, then puts the
    /// model's back by copy, so the weights training continues from are bit for bit what they were.
    /// </summary>
    internal T WithAveragedWeights<T>(Func<T> action)
    {
        ThrowIfDisposed();
        var (p, b) = EnsureAverage();
        parameterBackup ??= device.Allocate(Parameters.Length);
        bufferBackup ??= device.Allocate(buffers.Length);
        parameterBackup.View.CopyFrom(Parameters.Values.View);
        bufferBackup.View.CopyFrom(buffers.View);
        Parameters.Values.View.CopyFrom(p.View);
        buffers.View.CopyFrom(b.View);
        try
        {
            return action();
        }
        finally
        {
            Parameters.Values.View.CopyFrom(parameterBackup.View);
            buffers.View.CopyFrom(bufferBackup.View);
        }
    }

    private (MemoryBuffer1D<float, Stride1D.Dense> Parameters, MemoryBuffer1D<float, Stride1D.Dense> Buffers) EnsureAverage()
    {
        ThrowIfDisposed();
        if (parameterAverage is null || bufferAverage is null)
        {
            parameterAverage = device.Allocate(Parameters.Length);
            bufferAverage = device.Allocate(buffers.Length);
            parameterAverage.MemSetToZero();
            bufferAverage.MemSetToZero();
        }

        return (parameterAverage, bufferAverage);
    }

    private void DisposeAverage()
    {
        parameterAverage?.Dispose();
        bufferAverage?.Dispose();
        parameterBackup?.Dispose();
        bufferBackup?.Dispose();
    }
}
