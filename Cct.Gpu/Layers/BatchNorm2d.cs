using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Cct.Gpu.Reductions;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// torch.nn.BatchNorm2d: per-channel statistics over (B, H, W). On GPUs each channel's reductions run in one
/// group of threads (strided over the channel's values, so loads coalesce), combined in a fixed order
/// (<see cref="PartialSums.GroupSum"/>), so two runs give the same bits; on the CPU simulator, where group barriers are
/// slow, they run one barrier-free item per channel.
/// </summary>
internal sealed class BatchNorm2d
{
    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape, float, float> statistics;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape> normalise;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape, float> normaliseEval;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape> backward;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape, float, float> statisticsGroups;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape> backwardGroups;

    // Each operation's one path on this device, chosen from its profile's kernel family when the set is loaded.
    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape, float, float> statisticsPath;
    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape> backwardPath;

    private BatchNorm2d(ComputeDevice device)
    {
        this.device = device;
        var a = device.Accelerator;
        statistics = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape, float, float>(StatisticsKernel);
        normalise = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape>(NormaliseKernel);
        normaliseEval = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape, float>(NormaliseEvalKernel);
        statisticsGroups = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape, float, float>(StatisticsGroupKernel);
        backwardGroups = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape>(BackwardGroupKernel);
        backward = a.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormShape>(BackwardKernel);
        if (device.Profile.Kernels == KernelFamily.Grouped)
        {
            (statisticsPath, backwardPath) = (StatisticsGroups, BackwardGroups);
        }
        else
        {
            (statisticsPath, backwardPath) = (StatisticsItems, BackwardItems);
        }
    }

    public static BatchNorm2d For(ComputeDevice device) => device.Kernels(static d => new BatchNorm2d(d));

    /// <summary>
    /// Training mode, as torch.nn.BatchNorm2d.train(): output (B, C, S) = (input (B, C, S) − mean) · rstd · weight (C) + bias (C)
    /// (parameters, C each) with the batch statistics, saved as mean (C) and rstd (C) = 1/√(biased var + ε). Updates runningMean (C) and
    /// runningVar (C) in place: running = (1 − momentum)·running + momentum·stat, runningVar taking the unbiased variance.
    /// </summary>
    public void ForwardTraining(ArrayView<float> output, NormStatistics statistics, ArrayView<float> runningMean, ArrayView<float> runningVar,
        ArrayView<float> input, WeightAndBias parameters, BatchNormShape shape, float momentum = 0.1f, float epsilon = 1e-5f)
    {
        using var profile = device.Time("BatchNorm2d.ForwardTraining");
        var (mean, rstd) = statistics;
        var (weight, bias) = parameters;
        // PyTorch refuses this too: the unbiased variance of one value is undefined.
        if (shape.PerChannel < 2)
        {
            throw new ArgumentException($"batch norm training needs more than one value per channel, got {shape}", nameof(shape));
        }

        if (shape.Channels == 0)
        {
            return;
        }

        statisticsPath(mean, rstd, runningMean, runningVar, input, shape, momentum, epsilon);

        var elements = Elements(shape);
        var threads = device.Threads(elements);
        normalise(threads, threads, elements, output, input, mean, rstd, weight, bias, shape);
    }

    /// <summary>Eval mode: output (B, C, S) = (input (B, C, S) − runningMean (C)) / √(runningVar (C) + ε) · weight (C) + bias (C), the two from parameters.</summary>
    public void ForwardEval(ArrayView<float> output, ArrayView<float> input, WeightAndBias parameters,
        ArrayView<float> runningMean, ArrayView<float> runningVar, BatchNormShape shape, float epsilon = 1e-5f)
    {
        using var profile = device.Time("BatchNorm2d.ForwardEval");
        var (weight, bias) = parameters;
        if (shape.Channels > 0 && shape.PerChannel > 0)
        {
            var elements = Elements(shape);
            var threads = device.Threads(elements);
            normaliseEval(threads, threads, elements, output, input, weight, bias, runningMean, runningVar, shape, epsilon);
        }
    }

    /// <summary>
    /// Training-mode backward through the batch statistics: accumulates dinput (B, C, S) and gradients (dweight (C), dbias (C))
    /// from doutput (B, C, S), input (B, C, S), the saved statistics (mean (C), rstd (C)), and weight (C).
    /// </summary>
    public void Backward(ArrayView<float> dinput, WeightAndBiasGradients gradients, ArrayView<float> doutput,
        ArrayView<float> input, NormStatistics statistics, ArrayView<float> weight, BatchNormShape shape)
    {
        using var profile = device.Time("BatchNorm2d.Backward");
        if (shape.Channels > 0 && shape.PerChannel > 0)
        {
            backwardPath(dinput, gradients.Weight, gradients.Bias, doutput, input, statistics.Mean, statistics.Rstd, weight, shape);
        }
    }

    // The item statistics: one item per channel.
    private void StatisticsItems(ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> input, BatchNormShape shape, float momentum, float epsilon)
    {
        var channels = device.Threads(shape.Channels);
        statistics(channels, channels, shape.Channels, mean, rstd, runningMean, runningVar, input, shape, momentum, epsilon);
    }

    // The item backward: one item per channel.
    private void BackwardItems(ArrayView<float> dinput, ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> weight, BatchNormShape shape)
    {
        var channels = device.Threads(shape.Channels);
        backward(channels, channels, shape.Channels, dinput, dweight, dbias, doutput, input, mean, rstd, weight, shape);
    }

    // The GPU statistics: one group per channel.
    private void StatisticsGroups(ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> input, BatchNormShape shape, float momentum, float epsilon)
        => statisticsGroups(new KernelConfig(shape.Channels, GroupSize), mean, rstd, runningMean, runningVar, input, shape, momentum, epsilon);

    // The GPU backward: one group per channel.
    private void BackwardGroups(ArrayView<float> dinput, ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> weight, BatchNormShape shape)
        => backwardGroups(new KernelConfig(shape.Channels, GroupSize), dinput, dweight, dbias, doutput, input, mean, rstd, weight, shape);

    /// <summary>Threads per channel on GPUs (<see cref="PartialSums.GroupSize"/>).</summary>
    internal int GroupSize => PartialSums.GroupSize(device);

    private static int Elements(BatchNormShape shape) => checked(shape.Channels * shape.PerChannel);

    // One item per channel, grid-stride; two passes (mean, then squared deviations) avoid E[x²] − E[x]² cancellation.
    private static void StatisticsKernel(Index1D index, int stride, int channels, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> runningMean,
        ArrayView<float> runningVar, ArrayView<float> input, BatchNormShape s, float momentum, float epsilon)
    {
        var n = s.PerChannel;
        for (long item = index; item < channels; item += stride)
        {
            var c = (int)item;
            var sum = 0f;
            for (var b = 0; b < s.Batch; b++)
            {
                for (var i = 0; i < s.Spatial; i++)
                {
                    sum += input[s.Index(b, c, i)];
                }
            }

            var m = sum / n;
            var squares = 0f;
            for (var b = 0; b < s.Batch; b++)
            {
                for (var i = 0; i < s.Spatial; i++)
                {
                    var d = input[s.Index(b, c, i)] - m;
                    squares += d * d;
                }
            }

            mean[c] = m;
            rstd[c] = 1f / XMath.Sqrt((squares / n) + epsilon);
            runningMean[c] = ((1f - momentum) * runningMean[c]) + (momentum * m);
            runningVar[c] = ((1f - momentum) * runningVar[c]) + (momentum * (squares / (n - 1)));
        }
    }

    // GPU: group c reduces channel c; thread t takes the channel's values t, t + group size, ... (contiguous runs
    // of one image's plane, so loads coalesce). Two passes, as the per-channel kernel.
    private static void StatisticsGroupKernel(ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> input, BatchNormShape s, float momentum, float epsilon)
    {
        var c = Grid.IdxX;
        var n = s.PerChannel;
        var sum = 0f;
        for (var e = Group.IdxX; e < n; e += Group.DimX)
        {
            sum += input[s.Index(e / s.Spatial, c, e % s.Spatial)];
        }

        var m = PartialSums.GroupSum(sum) / n;
        var squares = 0f;
        for (var e = Group.IdxX; e < n; e += Group.DimX)
        {
            var d = input[s.Index(e / s.Spatial, c, e % s.Spatial)] - m;
            squares += d * d;
        }

        var total = PartialSums.GroupSum(squares);
        if (Group.IdxX == 0)
        {
            mean[c] = m;
            rstd[c] = 1f / XMath.Sqrt((total / n) + epsilon);
            runningMean[c] = ((1f - momentum) * runningMean[c]) + (momentum * m);
            runningVar[c] = ((1f - momentum) * runningVar[c]) + (momentum * (total / (n - 1)));
        }
    }

    // GPU: group c sums channel c's two gradient reductions, then its threads write the channel's dinput.
    private static void BackwardGroupKernel(ArrayView<float> dinput, ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> weight, BatchNormShape s)
    {
        var c = Grid.IdxX;
        var n = s.PerChannel;
        var m = mean[c];
        var r = rstd[c];
        var sumDy = 0f;
        var sumDyXhat = 0f;
        for (var e = Group.IdxX; e < n; e += Group.DimX)
        {
            var k = s.Index(e / s.Spatial, c, e % s.Spatial);
            sumDy += doutput[k];
            sumDyXhat += doutput[k] * (input[k] - m) * r;
        }

        var totalDy = PartialSums.GroupSum(sumDy);
        var totalDyXhat = PartialSums.GroupSum(sumDyXhat);
        if (Group.IdxX == 0)
        {
            dbias[c] += totalDy;
            dweight[c] += totalDyXhat;
        }

        var meanDy = totalDy / n;
        var meanDyXhat = totalDyXhat / n;
        var scale = weight[c] * r;
        for (var e = Group.IdxX; e < n; e += Group.DimX)
        {
            var k = s.Index(e / s.Spatial, c, e % s.Spatial);
            dinput[k] += scale * (doutput[k] - meanDy - ((input[k] - m) * r * meanDyXhat));
        }
    }

    // One item per element, grid-stride.
    private static void NormaliseKernel(Index1D index, int stride, int count, ArrayView<float> output, ArrayView<float> input, ArrayView<float> mean, ArrayView<float> rstd,
        ArrayView<float> weight, ArrayView<float> bias, BatchNormShape s)
    {
        for (long item = index; item < count; item += stride)
        {
            var i = (int)item;
            var c = i / s.Spatial % s.Channels;
            output[i] = ((input[i] - mean[c]) * rstd[c] * weight[c]) + bias[c];
        }
    }

    private static void NormaliseEvalKernel(Index1D index, int stride, int count, ArrayView<float> output, ArrayView<float> input, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> runningMean, ArrayView<float> runningVar, BatchNormShape s, float epsilon)
    {
        for (long item = index; item < count; item += stride)
        {
            var i = (int)item;
            var c = i / s.Spatial % s.Channels;
            output[i] = ((input[i] - runningMean[c]) / XMath.Sqrt(runningVar[c] + epsilon) * weight[c]) + bias[c];
        }
    }

    // One item per channel, grid-stride: both reductions first, then dinput = w·rstd·(dy − mean(dy) − x̂·mean(dy·x̂)),
    // all in one item because the reductions have no buffer to pass through to an elementwise kernel.
    private static void BackwardKernel(Index1D index, int stride, int channels, ArrayView<float> dinput, ArrayView<float> dweight, ArrayView<float> dbias,
        ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> weight, BatchNormShape s)
    {
        var n = (float)s.PerChannel;
        for (long item = index; item < channels; item += stride)
        {
            var c = (int)item;
            var m = mean[c];
            var r = rstd[c];
            var sumDy = 0f;
            var sumDyXhat = 0f;
            for (var b = 0; b < s.Batch; b++)
            {
                for (var i = 0; i < s.Spatial; i++)
                {
                    var k = s.Index(b, c, i);
                    sumDy += doutput[k];
                    sumDyXhat += doutput[k] * (input[k] - m) * r;
                }
            }

            dbias[c] += sumDy;
            dweight[c] += sumDyXhat;
            var meanDy = sumDy / n;
            var meanDyXhat = sumDyXhat / n;
            var scale = weight[c] * r;
            for (var b = 0; b < s.Batch; b++)
            {
                for (var i = 0; i < s.Spatial; i++)
                {
                    var k = s.Index(b, c, i);
                    dinput[k] += scale * (doutput[k] - meanDy - ((input[k] - m) * r * meanDyXhat));
                }
            }
        }
    }
}
