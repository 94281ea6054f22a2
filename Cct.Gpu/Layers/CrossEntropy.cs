using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Cct.Gpu.Reductions;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// Softmax cross entropy with label smoothing, as F.cross_entropy(logits, targets, label_smoothing: s)
/// with reduction mean over the batch: the target distribution is (1 − s)·onehot + s/K.
/// </summary>
internal sealed class CrossEntropy
{
    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, float> forward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int> mean;
    private readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, float> backward;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, float> forwardBackwardGroup;

    // ForwardBackward's one path on this device, chosen from its profile's kernel family when the set is loaded.
    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, float> forwardBackwardPath;

    private CrossEntropy(ComputeDevice device)
    {
        this.device = device;
        forward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, float>(ForwardKernel);
        mean = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(MeanKernel);
        backward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, float>(BackwardKernel);
        forwardBackwardGroup = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, float>(ForwardBackwardGroupKernel);
        forwardBackwardPath = device.Profile.Kernels == KernelFamily.Grouped ? ForwardBackwardGroup : ForwardThenBackward;
    }

    public static CrossEntropy For(ComputeDevice device) => device.Kernels(static d => new CrossEntropy(d));

    /// <summary>
    /// loss (1) = mean of losses (B), the per-sample smoothed cross entropy of logits (B, K) against
    /// targets (B) in [0, K); probabilities (B, K) = softmax(logits) are saved for the backward pass.
    /// </summary>
    public void Forward(ArrayView<float> loss, ArrayView<float> losses, ArrayView<float> probabilities, ArrayView<float> logits, ArrayView<int> targets, int batch, int classes, float labelSmoothing)
    {
        using var profile = device.Time("CrossEntropy.Forward");
        if (batch <= 0 || classes <= 0)
        {
            return;
        }

        var threads = device.Threads(batch);
        forward(threads, threads, batch, losses, probabilities, logits, targets, classes, labelSmoothing);
        mean(1, loss, losses, batch);
    }

    /// <summary>
    /// Accumulates dlogits (B, K) += (probabilities (B, K) − ((1 − s)·onehot(targets (B)) + s/K)) / B,
    /// the gradient of the mean loss.
    /// </summary>
    public void Backward(ArrayView<float> dlogits, ArrayView<float> probabilities, ArrayView<int> targets, int batch, int classes, float labelSmoothing)
    {
        using var profile = device.Time("CrossEntropy.Backward");
        if (batch > 0 && classes > 0)
        {
            var threads = device.Threads((long)batch * classes);
            backward(threads, threads, dlogits, probabilities, targets, batch, classes, labelSmoothing);
        }
    }

    /// <summary>
    /// <see cref="Forward"/> then <see cref="Backward"/>: loss (1), losses (B), probabilities (B, K), and dlogits (B, K) +=
    /// the gradient of the mean loss. GPUs run it as one launch of one group (three before: a batch of 128 by 10 is
    /// far too little work to hide a launch), its mean a fixed-order tree (<see cref="PartialSums.GroupSum"/>).
    /// </summary>
    public void ForwardBackward(ArrayView<float> loss, ArrayView<float> losses, ArrayView<float> probabilities, ArrayView<float> dlogits, ArrayView<float> logits, ArrayView<int> targets, int batch, int classes, float labelSmoothing)
        => forwardBackwardPath(loss, losses, probabilities, dlogits, logits, targets, batch, classes, labelSmoothing);

    private void ForwardThenBackward(ArrayView<float> loss, ArrayView<float> losses, ArrayView<float> probabilities, ArrayView<float> dlogits, ArrayView<float> logits, ArrayView<int> targets, int batch, int classes, float labelSmoothing)
    {
        Forward(loss, losses, probabilities, logits, targets, batch, classes, labelSmoothing);
        Backward(dlogits, probabilities, targets, batch, classes, labelSmoothing);
    }

    // The GPU path: one launch of one group.
    private void ForwardBackwardGroup(ArrayView<float> loss, ArrayView<float> losses, ArrayView<float> probabilities, ArrayView<float> dlogits, ArrayView<float> logits, ArrayView<int> targets, int batch, int classes, float labelSmoothing)
    {
        using var profile = device.Time("CrossEntropy.ForwardBackward");
        if (batch > 0 && classes > 0)
        {
            forwardBackwardGroup(new KernelConfig(1, PartialSums.GroupSize(device)), loss, losses, probabilities, dlogits, logits, targets, batch, classes, labelSmoothing);
        }
    }

    // One item per sample, grid-stride. With z = logits − max and S = Σ exp z, log p_k = z_k − log S, so
    // loss = log S − (1 − s)·z_target − s·mean(z): no exp of a large logit, no log of a tiny probability.
    private static void ForwardKernel(Index1D index, int stride, int batch, ArrayView<float> losses, ArrayView<float> probabilities, ArrayView<float> logits, ArrayView<int> targets, int classes, float smoothing)
    {
        for (var b = index.X; b < batch; b += stride)
        {
            if (b >= losses.Length)
            {
                continue;
            }

            var row = (long)b * classes;
            var max = logits[row];
            for (var k = 1; k < classes; k++)
            {
                max = XMath.Max(max, logits[row + k]);
            }

            var sum = 0f;
            var zSum = 0f;
            for (var k = 0; k < classes; k++)
            {
                var z = logits[row + k] - max;
                var e = XMath.Exp(z);
                probabilities[row + k] = e;
                sum += e;
                zSum += z;
            }

            var inverse = 1f / sum;
            for (var k = 0; k < classes; k++)
            {
                probabilities[row + k] *= inverse;
            }

            var zTarget = logits[row + targets[b]] - max;
            losses[b] = XMath.Log(sum) - ((1f - smoothing) * zTarget) - (smoothing * zSum / classes);
        }
    }

    // GPU, one group: thread t takes samples t, t + group size, ... through the forward and backward kernels' bodies,
    // then the group sums the losses in a fixed order.
    private static void ForwardBackwardGroupKernel(ArrayView<float> loss, ArrayView<float> losses, ArrayView<float> probabilities, ArrayView<float> dlogits, ArrayView<float> logits, ArrayView<int> targets, int batch, int classes, float smoothing)
    {
        var sum = 0f;
        for (var b = Group.IdxX; b < batch; b += Group.DimX)
        {
            ForwardKernel(b, batch, batch, losses, probabilities, logits, targets, classes, smoothing);
            var row = (long)b * classes;
            for (var k = 0; k < classes; k++)
            {
                BackwardKernel((int)(row + k), (int)((long)batch * classes), dlogits, probabilities, targets, batch, classes, smoothing);
            }

            sum += b < losses.Length ? losses[b] : 0f;
        }

        var total = PartialSums.GroupSum(sum);
        if (Group.IdxX == 0)
        {
            loss[0] = total / batch;
        }
    }

    // A single thread: the batch is small (at most ~1024 samples) and a tree reduction needs barriers.
    private static void MeanKernel(Index1D i, ArrayView<float> loss, ArrayView<float> losses, int batch)
    {
        if (i != 0)
        {
            return;
        }

        var sum = 0f;
        for (var b = 0; b < batch; b++)
        {
            sum += losses[b];
        }

        loss[0] = sum / batch;
    }

    // One item per logit (b, k), grid-stride.
    private static void BackwardKernel(Index1D index, int stride, ArrayView<float> dlogits, ArrayView<float> probabilities, ArrayView<int> targets, int batch, int classes, float smoothing)
    {
        for (var i = index.X; i < (long)batch * classes; i += stride)
        {
            var b = i / classes;
            var k = i % classes;
            var target = (smoothing / classes) + (k == targets[b] ? 1f - smoothing : 0f);
            dlogits[i] += (probabilities[i] - target) / batch;
        }
    }
}
