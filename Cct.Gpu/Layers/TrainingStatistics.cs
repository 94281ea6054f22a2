using Cct.Gpu.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// Running sums of a training epoch kept on the device, so a step needs no host synchronisation:
/// statistics (4) = [Σ per-sample loss, Σ correct, Σ samples, first step with a non-finite loss or −1].
/// The host reads them only when it reports progress.
/// </summary>
public sealed class TrainingStatistics
{
    public const int Length = 4;

    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int> accumulate;

    private TrainingStatistics(ComputeDevice device)
    {
        accumulate = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>(AccumulateKernel);
    }

    public static TrainingStatistics For(ComputeDevice device) => device.Kernels(static d => new TrainingStatistics(d));

    /// <summary>Sets statistics (4) to zero sums and "no non-finite step".</summary>
    public static void Reset(ArrayView<float> statistics) => statistics.SubView(0, Length).CopyFromCPU([0f, 0f, 0f, -1f]);

    /// <summary>
    /// statistics (4) += this batch's sums; losses (B) and probabilities (B, K) as CrossEntropy.Forward saved them;
    /// targets (B). A prediction counts as correct when the target's probability is the row's first maximum.
    /// </summary>
    public void Accumulate(ArrayView<float> statistics, ArrayView<float> losses, ArrayView<float> probabilities, ArrayView<int> targets, int batch, int classes, int step)
        => accumulate(1, statistics, losses, probabilities, targets, batch, classes, step);

    // A single thread: B ≤ a few thousand and K = 10, a few microseconds, and no atomics needed.
    private static void AccumulateKernel(Index1D index, ArrayView<float> statistics, ArrayView<float> losses, ArrayView<float> probabilities, ArrayView<int> targets, int batch, int classes, int step)
    {
        var lossSum = 0f;
        var correct = 0;
        for (var b = 0; b < batch; b++)
        {
            lossSum += losses[b];
            var best = 0;
            for (var k = 1; k < classes; k++)
            {
                if (probabilities[((long)b * classes) + k] > probabilities[((long)b * classes) + best])
                {
                    best = k;
                }
            }

            correct += best == targets[b] ? 1 : 0;
        }

        statistics[0] += lossSum;
        statistics[1] += correct;
        statistics[2] += batch;
        if (statistics[3] < 0 && !(lossSum - lossSum == 0f))
        {
            statistics[3] = step;
        }
    }
}
