using ILGPU;
using ILGPU.Runtime;

namespace Cct.Gpu.Model;

/// <summary>
/// What a model's step or inference batch bakes into its launches besides the model's own buffers and its device-side
/// <see cref="StepValues"/>: which work it is (<paramref name="Work"/>: a training step, a forward, a forward with its loss),
/// the images' and labels' buffers, offsets and lengths, the batch, the mode, the label smoothing, the dropout seed and the
/// configuration. Equal keys launch the same kernels with the same arguments, so a captured graph
/// (<see cref="Runtime.GraphReplay"/>) stands for them.
/// </summary>
internal readonly record struct GraphKey(string Work, MemoryBuffer? Images, long ImagesIndex, long ImagesLength, MemoryBuffer? Labels, long LabelsIndex, long LabelsLength, int Batch, bool Training, float LabelSmoothing, uint Seed, CctConfig Config)
{
    /// <summary>The key of <paramref name="work"/> in <paramref name="pass"/> on images (B, C, S, S) and labels (B; none for a forward alone).</summary>
    public static GraphKey Of(string work, ArrayView<float> images, ArrayView<int> labels, Pass pass, float labelSmoothing, CctConfig config)
    {
        var imagesView = (IContiguousArrayView)images;
        var labelsView = (IContiguousArrayView)labels;
        return new GraphKey(work, imagesView.Buffer, imagesView.Index, images.Length, labelsView.Buffer, labelsView.Index, labels.Length, pass.Batch, pass.Training, labelSmoothing, pass.Seed, config);
    }
}
