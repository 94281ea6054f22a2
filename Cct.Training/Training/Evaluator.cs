using Cct.Gpu.Data;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Training.Training;

/// <summary>
/// Runs a model in eval mode (running BatchNorm statistics, no dropout) over a device dataset, normalised as the model's
/// inputs are, optionally averaging the softmax of several views of every image (<see cref="TestTimeAugmentation"/>).
/// </summary>
internal sealed class Evaluator : IDisposable
{
    private readonly ComputeDevice device;
    private readonly CctModel model;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> images;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> indices;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> batchLabels;

    public Evaluator(ComputeDevice device, CctModel model)
    {
        this.device = device;
        this.model = model;
        var c = model.Config;
        images = device.Allocate((long)model.MaxBatch * c.InChannels * c.ImageSize * c.ImageSize);
        indices = device.Accelerator.Allocate1D<int>(model.MaxBatch);
        batchLabels = device.Accelerator.Allocate1D<int>(model.MaxBatch);
    }

    /// <summary>The views <paramref name="tta"/> averages, in the order their probabilities are summed.</summary>
    public static IReadOnlyList<BatchView> Views(TestTimeAugmentation tta) => tta switch
    {
        TestTimeAugmentation.None => [BatchView.Identity],
        TestTimeAugmentation.Flip => [BatchView.Identity, new BatchView(true, 0, 0)],
        TestTimeAugmentation.FlipTranslate =>
        [
            BatchView.Identity, new BatchView(true, 0, 0),
            new BatchView(false, -1, -1), new BatchView(true, -1, -1),
            new BatchView(false, 1, 1), new BatchView(true, 1, 1),
        ],
        _ => throw new ArgumentOutOfRangeException(nameof(tta), tta, "unknown test-time augmentation"),
    };

    public Evaluation Run(DeviceDataset data) => Run(data, TestTimeAugmentation.None);

    /// <summary>
    /// Scores every image. Without TTA the loss is the device's per-sample cross-entropy; with it the probabilities are
    /// the mean over the views (summed in double in <see cref="Views"/>' order, so the result is reproducible), and the
    /// loss is −ln of the mean probability of the label, which is the cross-entropy of what is predicted.
    /// </summary>
    public Evaluation Run(DeviceDataset data, TestTimeAugmentation tta)
    {
        if (tta != TestTimeAugmentation.None)
        {
            return RunViews(data, Views(tta));
        }

        var (mean, std) = model.InputNormalization;
        var classes = model.Config.Classes;
        var size = model.Config.ImageSize;
        var count = data.Count;
        var probabilities = new float[(long)count * classes];
        var losses = new float[model.MaxBatch];
        var labels = data.Data.LabelsAsInts();
        var predictions = new int[count];
        double lossSum = 0;
        var correct = 0;
        var assembler = BatchAssembler.For(device);
        var order = new int[model.MaxBatch];
        for (var start = 0; start < count; start += model.MaxBatch)
        {
            var batch = UploadBatch(order, labels, start, Math.Min(model.MaxBatch, count - start));
            assembler.Assemble(images.View, data.Pixels.View, indices.View, batch, size, size, mean, std, crop: false, flip: false, default);

            // The model's loss on the device: per-sample cross-entropy (no smoothing) and softmax probabilities.
            model.Forward(images.View, batchLabels.View, batch, train: false, labelSmoothing: 0f);
            var batchProbabilities = probabilities.AsSpan((int)((long)start * classes), batch * classes);
            model.Probabilities.SubView(0, (long)batch * classes).CopyToCPU(batchProbabilities);
            model.Losses.SubView(0, batch).CopyToCPU(losses.AsSpan(0, batch));
            for (var b = 0; b < batch; b++)
            {
                var row = batchProbabilities.Slice(b * classes, classes);
                var best = 0;
                for (var k = 1; k < classes; k++)
                {
                    best = row[k] > row[best] ? k : best;
                }

                var label = labels[start + b];
                lossSum += losses[b];
                predictions[start + b] = best;
                correct += best == label ? 1 : 0;
            }
        }

        return new Evaluation(probabilities, predictions, labels, count == 0 ? 0 : lossSum / count, count == 0 ? 0 : (double)correct / count);
    }

    private Evaluation RunViews(DeviceDataset data, IReadOnlyList<BatchView> views)
    {
        var (mean, std) = model.InputNormalization;
        var classes = model.Config.Classes;
        var size = model.Config.ImageSize;
        var count = data.Count;
        var probabilities = new float[(long)count * classes];
        var labels = data.Data.LabelsAsInts();
        var predictions = new int[count];
        var assembler = BatchAssembler.For(device);
        var order = new int[model.MaxBatch];
        var viewProbabilities = new float[model.MaxBatch * classes];
        var sums = new double[model.MaxBatch * classes];
        double lossSum = 0;
        var correct = 0;
        for (var start = 0; start < count; start += model.MaxBatch)
        {
            var batch = UploadBatch(order, labels, start, Math.Min(model.MaxBatch, count - start));
            Array.Clear(sums);
            foreach (var view in views)
            {
                assembler.Assemble(images.View, data.Pixels.View, indices.View, batch, size, size, mean, std, BatchAugmentation.None, view, default);
                // Probabilities come with the loss (the forward with labels), as in the single view.
                model.Forward(images.View, batchLabels.View, batch, train: false, labelSmoothing: 0f);
                model.Probabilities.SubView(0, (long)batch * classes).CopyToCPU(viewProbabilities.AsSpan(0, batch * classes));
                for (var j = 0; j < batch * classes; j++)
                {
                    sums[j] += viewProbabilities[j];
                }
            }

            for (var b = 0; b < batch; b++)
            {
                var best = 0;
                for (var k = 0; k < classes; k++)
                {
                    var average = sums[(b * classes) + k] / views.Count;
                    probabilities[((long)(start + b) * classes) + k] = (float)average;
                    best = sums[(b * classes) + k] > sums[(b * classes) + best] ? k : best;
                }

                var label = labels[start + b];
                lossSum -= Math.Log(Math.Max(sums[(b * classes) + label] / views.Count, 1e-30));
                predictions[start + b] = best;
                correct += best == label ? 1 : 0;
            }
        }

        return new Evaluation(probabilities, predictions, labels, count == 0 ? 0 : lossSum / count, count == 0 ? 0 : (double)correct / count);
    }

    // Images start … start + batch − 1 in order: their indices and labels to the device; returns batch.
    private int UploadBatch(int[] order, int[] labels, int start, int batch)
    {
        for (var i = 0; i < batch; i++)
        {
            order[i] = start + i;
        }

        indices.View.SubView(0, batch).CopyFromCPU(order[..batch]);
        batchLabels.View.SubView(0, batch).CopyFromCPU(labels[start..(start + batch)]);
        return batch;
    }

    public void Dispose()
    {
        images.Dispose();
        indices.Dispose();
        batchLabels.Dispose();
    }
}
