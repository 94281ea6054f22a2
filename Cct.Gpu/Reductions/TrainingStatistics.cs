using Cct.Gpu.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Gpu.Reductions;

/// <summary>
/// Running sums of a training epoch kept on the device, so a step needs no host synchronisation:
/// statistics (4) = [Σ per-sample loss, Σ correct, Σ samples, first step with a non-finite loss or −1].
/// The host reads them only when it reports progress.
/// </summary>
internal sealed class TrainingStatistics
{
    public const int Length = 4;

    private readonly ComputeDevice device;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int> accumulate;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int> accumulateGroup;

    // Accumulate's one path on this device, chosen from its profile's kernel family when the set is loaded.
    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int> accumulatePath;

    private TrainingStatistics(ComputeDevice device)
    {
        this.device = device;
        accumulate = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>(AccumulateKernel);
        accumulateGroup = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>(AccumulateGroupKernel);
        accumulatePath = device.Profile.Kernels == KernelFamily.Grouped ? AccumulateInGroup : AccumulateInOneThread;
    }

    public static TrainingStatistics For(ComputeDevice device) => device.Kernels(static d => new TrainingStatistics(d));

    /// <summary>Sets statistics (4) to zero sums and "no non-finite step".</summary>
    public static void Reset(ArrayView<float> statistics) => statistics.SubView(0, Length).CopyFromCPU([0f, 0f, 0f, -1f]);

    /// <summary>
    /// statistics (4) += this batch's sums; losses (B) and probabilities (B, K) as CrossEntropy.Forward saved them;
    /// targets (B). A prediction counts as correct when the target's probability is the row's first maximum.
    /// </summary>
    public void Accumulate(ArrayView<float> statistics, ArrayView<float> losses, ArrayView<float> probabilities, ArrayView<int> targets, int batch, int classes, int step)
        => accumulatePath(statistics, losses, probabilities, targets, batch, classes, step);

    private void AccumulateInGroup(ArrayView<float> statistics, ArrayView<float> losses, ArrayView<float> probabilities, ArrayView<int> targets, int batch, int classes, int step)
        => accumulateGroup(new KernelConfig(1, PartialSums.GroupSize(device)), statistics, losses, probabilities, targets, batch, classes, step);

    private void AccumulateInOneThread(ArrayView<float> statistics, ArrayView<float> losses, ArrayView<float> probabilities, ArrayView<int> targets, int batch, int classes, int step)
        => accumulate(1, statistics, losses, probabilities, targets, batch, classes, step);

    // CPU: a single thread, samples in order; B ≤ a few thousand and K = 10, and no atomics needed.
    private static void AccumulateKernel(Index1D index, ArrayView<float> statistics, ArrayView<float> losses, ArrayView<float> probabilities, ArrayView<int> targets, int batch, int classes, int step)
    {
        var lossSum = 0f;
        var correct = 0;
        for (var b = 0; b < batch; b++)
        {
            lossSum += losses[b];
            correct += IsCorrect(probabilities, targets, b, classes);
        }

        Add(statistics, lossSum, correct, batch, step);
    }

    // GPU: one group, thread t takes samples t, t + group size, ...; the group sums in a fixed order (PartialSums.GroupSum),
    // so a GPU is not left waiting on one thread's serial loop over the batch.
    private static void AccumulateGroupKernel(ArrayView<float> statistics, ArrayView<float> losses, ArrayView<float> probabilities, ArrayView<int> targets, int batch, int classes, int step)
    {
        var lossSum = 0f;
        var correct = 0f;
        for (var b = Group.IdxX; b < batch; b += Group.DimX)
        {
            lossSum += losses[b];
            correct += IsCorrect(probabilities, targets, b, classes);
        }

        // Counts below 2^24 are exact in fp32.
        var totalLoss = PartialSums.GroupSum(lossSum);
        var totalCorrect = PartialSums.GroupSum(correct);
        if (Group.IdxX == 0)
        {
            Add(statistics, totalLoss, (int)totalCorrect, batch, step);
        }
    }

    // 1 when the target's probability is the row's first maximum.
    private static int IsCorrect(ArrayView<float> probabilities, ArrayView<int> targets, int b, int classes)
    {
        var best = 0;
        for (var k = 1; k < classes; k++)
        {
            if (probabilities[((long)b * classes) + k] > probabilities[((long)b * classes) + best])
            {
                best = k;
            }
        }

        return best == targets[b] ? 1 : 0;
    }

    private static void Add(ArrayView<float> statistics, float lossSum, int correct, int batch, int step)
    {
        statistics[0] += lossSum;
        statistics[1] += correct;
        statistics[2] += batch;
        if (statistics[3] < 0 && !(lossSum - lossSum == 0f))
        {
            statistics[3] = step;
        }
    }
}
