using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Algorithms.ScanReduceOperations;
using ILGPU.Runtime;
using Cct.Gpu.Reductions;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// Layer normalisation over the last dimension with affine weight and bias, as torch.nn.LayerNorm (eps 1e-5).
/// Row passes run one warp per row on GPUs (lanes read along the row, so loads coalesce, and rows x 32
/// threads fill the device; warp reductions need no barrier) and one item per row on the CPU simulator.
/// A LayerNorm straight after a residual can take the residual in: on GPUs its row kernels form the sum and
/// split the sum's gradient, which saves the residual's two launches (<see cref="ForwardResidual"/>).
/// </summary>
internal sealed class LayerNorm
{
    public const float Epsilon = 1e-5f;

    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> forward;
    private readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> inputBackward;
    private readonly Action<Index1D, int, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> parameterBackward;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> forwardWarps;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, DropPathMask, ParameterSums, int> inputBackwardWarps;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, DropPathMask> forwardResidualWarps;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, DropPathMask, ParameterSums, int> residualBackwardWarps;

    // Each operation's one path on this device, chosen from its profile's kernel family when the set is loaded.
    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> forwardPath;
    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, DropPathMask> forwardResidualPath;
    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, DropPathMask> backwardResidualPath;
    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> backwardPath;

    private LayerNorm(ComputeDevice device)
    {
        this.device = device;
        forward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ForwardKernel);
        inputBackward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(InputBackwardKernel);
        forwardWarps = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ForwardWarpKernel);
        inputBackwardWarps = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, DropPathMask, ParameterSums, int>(InputBackwardWarpKernel<InputGradient>);
        forwardResidualWarps = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, DropPathMask>(ForwardResidualWarpKernel);
        residualBackwardWarps = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, DropPathMask, ParameterSums, int>(InputBackwardWarpKernel<ResidualGradients>);
        parameterBackward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ParameterBackwardKernel);
        if (device.Profile.Kernels == KernelFamily.Grouped)
        {
            (forwardPath, forwardResidualPath, backwardResidualPath, backwardPath) = (ForwardWarps, ForwardResidualWarps, BackwardResidualWarps, InputBackwardWarps);
        }
        else
        {
            (forwardPath, forwardResidualPath, backwardResidualPath, backwardPath) = (ForwardItems, ForwardResidualItems, BackwardResidualItems, BackwardItems);
        }
    }

    public static LayerNorm For(ComputeDevice device) => device.Kernels(static d => new LayerNorm(d));

    /// <summary>
    /// output (rows, C) = (input (rows, C) − mean) · rstd · weight (C) + bias (C), saving statistics: mean (rows)
    /// and rstd (rows) = 1/√(biased variance + eps) for the backward pass.
    /// </summary>
    public void Forward(ArrayView<float> output, NormStatistics statistics, ArrayView<float> input, WeightAndBias parameters, int rows, int channels)
    {
        using var profile = device.Time("LayerNorm.Forward");
        if (rows > 0 && channels > 0)
        {
            forwardPath(output, statistics.Mean, statistics.Rstd, input, parameters.Weight, parameters.Bias, rows, channels);
        }
    }

    // The item forward: one item per row.
    private void ForwardItems(ArrayView<float> output, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> input, ArrayView<float> weight, ArrayView<float> bias, int rows, int channels)
    {
        var threads = device.Threads(rows);
        forward(threads, threads, output, mean, rstd, input, weight, bias, rows, channels);
    }

    // The GPU forward: one warp per row.
    private void ForwardWarps(ArrayView<float> output, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> input, ArrayView<float> weight, ArrayView<float> bias, int rows, int channels)
        => forwardWarps(device.WarpPerRow(rows), output, mean, rstd, input, weight, bias, rows, channels);

    // The GPU backward: one warp per row adding into dinput, and the parameter sums in the groups after the rows'.
    private void InputBackwardWarps(ArrayView<float> dinput, ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> weight, int rows, int channels, int chunks)
    {
        var (config, sums, rowGroups) = WithParameterSums(dweight, dbias, rows, channels, chunks);
        inputBackwardWarps(config, dinput, dinput, doutput, input, mean, rstd, weight, rows, channels, default, sums, rowGroups);
        AddParameterPartials(sums, dweight, dbias, channels);
    }

    // The row kernels' launch with the parameter sums' groups after the rows' (one item per thread, as many threads as
    // ParameterBackwardKernel gets), and the sums: into dweight and dbias with one chunk, else into partials (2, chunks, C).
    private (KernelConfig Config, ParameterSums Sums, int RowGroups) WithParameterSums(ArrayView<float> dweight, ArrayView<float> dbias, int rows, int channels, int chunks)
    {
        var items = checked(chunks * channels);
        var partials = chunks > 1 ? PartialSums.For(device).Partials(2L * items) : dweight;
        var rowsConfig = device.WarpPerRow(rows);
        var threads = rowsConfig.GroupDim.X;
        var parameterGroups = (device.Threads(items) + threads - 1) / threads;
        var config = new KernelConfig(rowsConfig.GridDim.X + parameterGroups, threads);
        return (config, new ParameterSums(partials, dweight, dbias, items, chunks), rowsConfig.GridDim.X);
    }

    private void AddParameterPartials(ParameterSums sums, ArrayView<float> dweight, ArrayView<float> dbias, int channels)
    {
        if (sums.Chunks > 1)
        {
            PartialSums.For(device).AddInto(sums.Chunks, new PartialSum(dweight, sums.Partials.SubView(0, sums.Items), channels), new PartialSum(dbias, sums.Partials.SubView(sums.Items, sums.Items), channels));
        }
    }

    /// <summary>
    /// sum (rows, C) = input (rows, C) + drop_path(branch (rows, C)), a residual as <see cref="Residual.Forward(ArrayView{float}, ArrayView{float}, ArrayView{float}, int, int, float, RngKey)"/>
    /// forms it (saved: <see cref="BackwardResidual"/> reads it), then output (rows, C) = LayerNorm(sum) with parameters (C each) as
    /// <see cref="Forward"/>, saving statistics (rows each). GPUs do both in one launch; the CPU runs the two layers' kernels, as before.
    /// </summary>
    public void ForwardResidual(ArrayView<float> output, NormStatistics statistics, ArrayView<float> sum, ArrayView<float> input, ArrayView<float> branch, WeightAndBias parameters, int rows, int channels, DropPathMask mask)
        => forwardResidualPath(output, statistics.Mean, statistics.Rstd, sum, input, branch, parameters.Weight, parameters.Bias, rows, channels, mask);

    // The item path: the residual's kernel, then the forward's.
    private void ForwardResidualItems(ArrayView<float> output, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> sum, ArrayView<float> input, ArrayView<float> branch, ArrayView<float> weight, ArrayView<float> bias, int rows, int channels, DropPathMask mask)
    {
        Residual.For(device).Forward(sum, input, branch, rows * channels / mask.PerSample, mask.PerSample, mask.Probability, mask.Key);
        Forward(output, new NormStatistics(mean, rstd), sum, new WeightAndBias(weight, bias), rows, channels);
    }

    // The GPU path: the sum and the norm in one launch, a warp per row.
    private void ForwardResidualWarps(ArrayView<float> output, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> sum, ArrayView<float> input, ArrayView<float> branch, ArrayView<float> weight, ArrayView<float> bias, int rows, int channels, DropPathMask mask)
    {
        using var profile = device.Time("LayerNorm.ForwardResidual");
        if (rows > 0 && channels > 0)
        {
            forwardResidualWarps(device.WarpPerRow(rows), output, mean, rstd, sum, input, branch, weight, bias, rows, channels, mask);
        }
    }

    /// <summary>
    /// The backward of <see cref="ForwardResidual"/>: accumulates dinput (rows, C) += dsum and dbranch (rows, C) += dsum through
    /// the drop-path mask, with dsum the gradient of the sum from doutput (rows, C), and gradients (C each) as
    /// <see cref="Backward(ArrayView{float}, WeightAndBiasGradients, ArrayView{float}, ArrayView{float}, NormStatistics, ArrayView{float}, int, int)"/>,
    /// from the saved sum (rows, C), statistics (rows each) and weight (C).
    /// GPUs split dsum in the row kernel; the item path forms dsum in the device's scratch and then runs the residual's backward.
    /// </summary>
    public void BackwardResidual(ArrayView<float> dinput, ArrayView<float> dbranch, WeightAndBiasGradients gradients, ArrayView<float> doutput, ArrayView<float> sum, NormStatistics statistics, ArrayView<float> weight, int rows, int channels, DropPathMask mask)
        => backwardResidualPath(dinput, dbranch, gradients.Weight, gradients.Bias, doutput, sum, statistics.Mean, statistics.Rstd, weight, rows, channels, mask);

    private void BackwardResidualItems(ArrayView<float> dinput, ArrayView<float> dbranch, ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> sum, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> weight, int rows, int channels, DropPathMask mask)
    {
        var dsum = device.Scratch((long)rows * channels); // (rows, C), accumulated from zero
        device.Clear(dsum);
        Backward(dsum, new WeightAndBiasGradients(dweight, dbias), doutput, sum, new NormStatistics(mean, rstd), weight, rows, channels);
        Residual.For(device).Backward(dinput, dbranch, dsum, rows * channels / mask.PerSample, mask.PerSample, mask.Probability, mask.Key);
    }

    private void BackwardResidualWarps(ArrayView<float> dinput, ArrayView<float> dbranch, ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> sum, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> weight, int rows, int channels, DropPathMask mask)
    {
        using var profile = device.Time("LayerNorm.BackwardResidual");
        if (rows > 0 && channels > 0)
        {
            // The parameter sums run in the row kernel's launch, in groups after the rows'.
            var (config, sums, rowGroups) = WithParameterSums(dweight, dbias, rows, channels, PartialSums.ChunksFor(device, rows, channels));
            residualBackwardWarps(config, dinput, dbranch, doutput, sum, mean, rstd, weight, rows, channels, mask, sums, rowGroups);
            AddParameterPartials(sums, dweight, dbias, channels);
        }
    }

    /// <summary>
    /// Accumulates dinput (rows, C) += and gradients (dweight (C) +=, dbias (C) +=) from doutput (rows, C), with
    /// input (rows, C), the saved statistics (mean (rows), rstd (rows)) and weight (C).
    /// </summary>
    public void Backward(ArrayView<float> dinput, WeightAndBiasGradients gradients, ArrayView<float> doutput, ArrayView<float> input, NormStatistics statistics, ArrayView<float> weight, int rows, int channels)
        => Backward(dinput, gradients, doutput, input, statistics, weight, rows, channels, PartialSums.ChunksFor(device, rows, channels));

    /// <summary><see cref="Backward(ArrayView{float}, WeightAndBiasGradients, ArrayView{float}, ArrayView{float}, NormStatistics, ArrayView{float}, int, int)"/> with the parameter sums split into <paramref name="chunks"/> row chunks (tests force it on the CPU).</summary>
    internal void Backward(ArrayView<float> dinput, WeightAndBiasGradients gradients, ArrayView<float> doutput, ArrayView<float> input, NormStatistics statistics, ArrayView<float> weight, int rows, int channels, int chunks)
    {
        using var profile = device.Time("LayerNorm.Backward");
        if (rows > 0 && channels > 0)
        {
            backwardPath(dinput, gradients.Weight, gradients.Bias, doutput, input, statistics.Mean, statistics.Rstd, weight, rows, channels, chunks);
        }
    }

    // The item backward: one item per row into dinput, then the parameter sums.
    private void BackwardItems(ArrayView<float> dinput, ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> weight, int rows, int channels, int chunks)
    {
        var rowThreads = device.Threads(rows);
        inputBackward(rowThreads, rowThreads, dinput, doutput, input, mean, rstd, weight, rows, channels);
        ParameterBackward(dweight, dbias, doutput, input, mean, rstd, rows, channels, chunks);
    }

    // Two partial sets (weight, bias) of (chunks, C) from PartialSums; one chunk adds into dweight, dbias directly.
    private void ParameterBackward(ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> mean, ArrayView<float> rstd, int rows, int channels, int chunks)
    {
        var sums = PartialSums.For(device);
        var partials = chunks > 1 ? sums.Partials(2L * chunks * channels) : dweight;
        var items = (long)chunks * channels;
        var threads = device.Threads(items);
        parameterBackward(threads, threads, checked((int)items), chunks, partials, dweight, dbias, doutput, input, mean, rstd, rows, channels);
        if (chunks > 1)
        {
            sums.AddInto(chunks, new PartialSum(dweight, partials.SubView(0, items), channels), new PartialSum(dbias, partials.SubView(items, items), channels));
        }
    }

    // One item per row, grid-stride. Statistics are taken of x − x[0], which is exact for nearby values, so a
    // large common offset (mean 100, std 1) costs no precision in the normalised output.
    private static void ForwardKernel(Index1D index, int stride, ArrayView<float> output, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> input, ArrayView<float> weight, ArrayView<float> bias, int rows, int channels)
    {
        for (var r = index.X; r < rows; r += stride)
        {
            var row = (long)r * channels;
            var shift = input[row];
            var sum = 0f;
            for (var c = 0; c < channels; c++)
            {
                sum += input[row + c] - shift;
            }

            var shiftedMean = sum / channels;
            var squares = 0f;
            for (var c = 0; c < channels; c++)
            {
                var d = input[row + c] - shift - shiftedMean;
                squares += d * d;
            }

            var s = 1f / XMath.Sqrt((squares / channels) + Epsilon);
            for (var c = 0; c < channels; c++)
            {
                output[row + c] = ((input[row + c] - shift - shiftedMean) * s * weight[c]) + bias[c];
            }

            mean[r] = shift + shiftedMean;
            rstd[r] = s;
        }
    }

    // One item per row, grid-stride: dx = rstd · (g − mean(g) − n · mean(g·n)) with g = dy·w and n the normalised input.
    private static void InputBackwardKernel(Index1D index, int stride, ArrayView<float> dinput, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> weight, int rows, int channels)
    {
        for (var r = index.X; r < rows; r += stride)
        {
            var row = (long)r * channels;
            var m = mean[r];
            var s = rstd[r];
            var gSum = 0f;
            var gnSum = 0f;
            for (var c = 0; c < channels; c++)
            {
                var g = doutput[row + c] * weight[c];
                gSum += g;
                gnSum += g * (input[row + c] - m) * s;
            }

            var gMean = gSum / channels;
            var gnMean = gnSum / channels;
            for (var c = 0; c < channels; c++)
            {
                var n = (input[row + c] - m) * s;
                dinput[row + c] += s * ((doutput[row + c] * weight[c]) - gMean - (n * gnMean));
            }
        }
    }

    // GPU: warp w of group g normalises row g·(warps per group) + w; lane l handles channels l, l + 32, ...
    // The same shifted two-pass statistics as the row kernel, summed across lanes by warp all-reductions.
    private static void ForwardWarpKernel(ArrayView<float> output, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> input, ArrayView<float> weight, ArrayView<float> bias, int rows, int channels)
    {
        var r = (Grid.IdxX * (Group.DimX / Warp.WarpSize)) + Warp.WarpIdx;
        if (r >= rows)
        {
            return; // the whole warp leaves together, so its reductions stay complete
        }

        var lane = Warp.LaneIdx;
        var row = (long)r * channels;
        var shift = input[row];
        var sum = 0f;
        for (var c = lane; c < channels; c += Warp.WarpSize)
        {
            sum += input[row + c] - shift;
        }

        var shiftedMean = WarpExtensions.AllReduce<float, AddFloat>(sum) / channels;
        var squares = 0f;
        for (var c = lane; c < channels; c += Warp.WarpSize)
        {
            var d = input[row + c] - shift - shiftedMean;
            squares += d * d;
        }

        var s = 1f / XMath.Sqrt((WarpExtensions.AllReduce<float, AddFloat>(squares) / channels) + Epsilon);
        for (var c = lane; c < channels; c += Warp.WarpSize)
        {
            output[row + c] = ((input[row + c] - shift - shiftedMean) * s * weight[c]) + bias[c];
        }

        if (lane == 0)
        {
            mean[r] = shift + shiftedMean;
            rstd[r] = s;
        }
    }

    // GPU: one warp per row; each lane writes its elements of the sum input + drop_path(branch), then, with the row's first
    // element (every lane's shift) visible across the warp, ForwardWarpKernel's body normalises the sum.
    private static void ForwardResidualWarpKernel(ArrayView<float> output, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> sum, ArrayView<float> input, ArrayView<float> branch, ArrayView<float> weight, ArrayView<float> bias, int rows, int channels, DropPathMask mask)
    {
        var r = (Grid.IdxX * (Group.DimX / Warp.WarpSize)) + Warp.WarpIdx;
        if (r >= rows)
        {
            return;
        }

        var row = (long)r * channels;
        for (var c = Warp.LaneIdx; c < channels; c += Warp.WarpSize)
        {
            sum[row + c] = input[row + c] + mask.Apply(row + c, branch[row + c]);
        }

        Warp.Barrier();
        ForwardWarpKernel(output, mean, rstd, sum, weight, bias, rows, channels);
    }

    // GPU: one warp per row, as ForwardWarpKernel; the row's two sums are warp all-reductions. TTarget says where the
    // input gradient goes: into dinput, or, behind a residual, into dinput and through the mask into dbranch.
    // Groups from rowGroups on sum the parameter gradients instead, grid-stride, as ParameterBackwardKernel's items.
    private static void InputBackwardWarpKernel<TTarget>(ArrayView<float> dinput, ArrayView<float> dbranch, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> weight, int rows, int channels, DropPathMask mask, ParameterSums sums, int rowGroups)
        where TTarget : struct, IInputGradientTarget
    {
        if (Grid.IdxX >= rowGroups)
        {
            var start = ((long)(Grid.IdxX - rowGroups) * Group.DimX) + Group.IdxX;
            SumParameters(start, (long)(Grid.DimX - rowGroups) * Group.DimX, sums.Items, sums.Chunks, sums.Partials, sums.Dweight, sums.Dbias, doutput, input, mean, rstd, rows, channels);
            return;
        }

        var r = (Grid.IdxX * (Group.DimX / Warp.WarpSize)) + Warp.WarpIdx;
        if (r >= rows)
        {
            return;
        }

        var lane = Warp.LaneIdx;
        var row = (long)r * channels;
        var m = mean[r];
        var s = rstd[r];
        var gSum = 0f;
        var gnSum = 0f;
        for (var c = lane; c < channels; c += Warp.WarpSize)
        {
            var g = doutput[row + c] * weight[c];
            gSum += g;
            gnSum += g * (input[row + c] - m) * s;
        }

        var gMean = WarpExtensions.AllReduce<float, AddFloat>(gSum) / channels;
        var gnMean = WarpExtensions.AllReduce<float, AddFloat>(gnSum) / channels;
        for (var c = lane; c < channels; c += Warp.WarpSize)
        {
            var n = (input[row + c] - m) * s;
            default(TTarget).Add(row + c, s * ((doutput[row + c] * weight[c]) - gMean - (n * gnMean)), dinput, dbranch, mask);
        }
    }

    // One item per (row chunk, channel), grid-stride, summing its rows (a gather, so no atomics). With one chunk
    // it adds into dweight and dbias; otherwise it writes partials (2, chunks, C) for PartialSums.
    private static void ParameterBackwardKernel(Index1D index, int stride, int items, int chunks, ArrayView<float> partials, ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> mean, ArrayView<float> rstd, int rows, int channels)
        => SumParameters(index, stride, items, chunks, partials, dweight, dbias, doutput, input, mean, rstd, rows, channels);

    // Items start, start + stride, …: each item's sums do not depend on which thread takes it.
    private static void SumParameters(long start, long stride, int items, int chunks, ArrayView<float> partials, ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> mean, ArrayView<float> rstd, int rows, int channels)
    {
        var rowsPerChunk = PartialSums.RowsPerChunk(rows, chunks);
        for (var item = start; item < items; item += stride)
        {
            var c = (int)(item % channels);
            var first = (int)(item / channels) * rowsPerChunk;
            var end = XMath.Min(rows, first + rowsPerChunk);
            var weightSum = 0f;
            var biasSum = 0f;
            for (var r = first; r < end; r++)
            {
                var i = ((long)r * channels) + c;
                var dy = doutput[i];
                weightSum += dy * (input[i] - mean[r]) * rstd[r];
                biasSum += dy;
            }

            if (chunks == 1)
            {
                dweight[c] += weightSum;
                dbias[c] += biasSum;
            }
            else
            {
                partials[item] = weightSum;
                partials[items + item] = biasSum;
            }
        }
    }
}
