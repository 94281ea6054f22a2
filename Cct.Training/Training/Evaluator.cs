using Cct.Gpu.Data;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Training.Training;

/// <summary>Runs a model in eval mode (running BatchNorm statistics, no dropout) over a device dataset, normalised as the model's inputs are.</summary>
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

    public Evaluation Run(DeviceDataset data)
    {
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
            var batch = Math.Min(model.MaxBatch, count - start);
            for (var i = 0; i < batch; i++)
            {
                order[i] = start + i;
            }

            indices.View.SubView(0, batch).CopyFromCPU(order[..batch]);
            batchLabels.View.SubView(0, batch).CopyFromCPU(labels[start..(start + batch)]);
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

    public void Dispose()
    {
        images.Dispose();
        indices.Dispose();
        batchLabels.Dispose();
    }
}
