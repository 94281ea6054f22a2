using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Data;

/// <summary>
/// Builds training batches on the device from the whole dataset uploaded once, so augmentation
/// needs no host round trip per image. Pixels stay bytes on the device (47 MB for FashionMNIST's
/// training set instead of 188 MB as floats); ILGPU loads bytes on every backend.
/// Augmentation follows torchvision's RandomCrop(padding=4) then RandomHorizontalFlip(0.5), with
/// per-sample draws from the counter RNG: element 3b, 3b+1 and 3b+2 of the key give sample b's
/// vertical shift, horizontal shift and flip, so a batch is a pure function of (indices, key). Random erasing draws
/// its five numbers per sample from elements 2³² + 5b … 2³² + 5b + 4 of the same key, so turning it on leaves the
/// crop and flip draws unchanged.
/// </summary>
internal sealed class BatchAssembler
{
    /// <summary>Zero padding of the random crop: shifts are uniform in [−Padding, Padding] per axis.</summary>
    public const int Padding = 4;

    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, ArrayView<float>, ArrayView<byte>, ArrayView<int>, BatchShape, RngKey> assemble;
    private readonly Action<Index1D, int, ArrayView<int>, ArrayView<int>, ArrayView<int>, int> gatherLabels;

    private BatchAssembler(ComputeDevice device)
    {
        this.device = device;
        assemble = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<byte>, ArrayView<int>, BatchShape, RngKey>(AssembleKernel);
        gatherLabels = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<int>, ArrayView<int>, ArrayView<int>, int>(GatherLabelsKernel);
    }

    public static BatchAssembler For(ComputeDevice device) => device.Kernels(static d => new BatchAssembler(d));

    /// <summary>Copies a dataset's pixels (N×H×W bytes) to the device, once per run.</summary>
    public MemoryBuffer1D<byte, Stride1D.Dense> UploadPixels(byte[] pixels)
    {
        var buffer = device.Accelerator.Allocate1D<byte>(Math.Max(1, pixels.Length));
        if (pixels.Length > 0)
        {
            buffer.View.SubView(0, pixels.Length).CopyFromCPU(pixels);
        }

        return buffer;
    }

    /// <summary>
    /// output (batch, 1, height, width) = ((pixels[indices[b]] shifted and mirrored) / 255 − mean) / std,
    /// from pixels (N, height, width) and indices (batch). Crop fills pixels shifted in from outside
    /// with 0 before normalising, as torchvision pads the image; a shift is uniform in [−4, 4] per axis.
    /// Flip mirrors left–right with probability 0.5. <paramref name="key"/> (one Step per training step)
    /// makes the draws reproducible.
    /// </summary>
    public void Assemble(ArrayView<float> output, ArrayView<byte> pixels, ArrayView<int> indices, int batch, int height, int width, float mean, float std, bool crop, bool flip, RngKey key)
        => Assemble(output, pixels, indices, batch, height, width, mean, std, new BatchAugmentation(crop, flip), BatchView.Identity, key);

    /// <summary>
    /// As the overload with crop and flip, with <paramref name="augmentation"/>'s padding and random erasing, and every
    /// image seen through <paramref name="view"/> (test-time augmentation) before the random draws apply.
    /// </summary>
    public void Assemble(ArrayView<float> output, ArrayView<byte> pixels, ArrayView<int> indices, int batch, int height, int width, float mean, float std, BatchAugmentation augmentation, BatchView view, RngKey key)
    {
        using var profile = device.Time("BatchAssembler.Assemble");
        ArgumentOutOfRangeException.ThrowIfNegative(augmentation.Padding);
        var total = (long)batch * height * width;
        var threads = device.Threads(checked((int)total));
        if (threads > 0)
        {
            var shape = new BatchShape(
                batch, height, width, mean, std, augmentation.Crop ? 1 : 0, augmentation.Flip ? 1 : 0, augmentation.Padding,
                augmentation.Erase ? 1 : 0, view.Mirror ? 1 : 0, view.ShiftY, view.ShiftX);
            assemble(threads, threads, output, pixels, indices, shape, key);
        }
    }

    /// <summary>output (batch) = labels[indices[b]], from labels (N) and indices (batch); −1 for an index outside labels.</summary>
    public void GatherLabels(ArrayView<int> output, ArrayView<int> labels, ArrayView<int> indices, int batch)
    {
        using var profile = device.Time("BatchAssembler.GatherLabels");
        var threads = device.Threads(batch);
        if (threads > 0)
        {
            gatherLabels(threads, threads, output, labels, indices, batch);
        }
    }

    // One item per output pixel, grid-stride (ComputeDevice.Threads); each recomputes its sample's three draws,
    // which is cheaper than a second pass. A long counter, as index + stride can pass int.MaxValue on a GPU.
    private static void AssembleKernel(Index1D index, int stride, ArrayView<float> output, ArrayView<byte> pixels, ArrayView<int> indices, BatchShape s, RngKey key)
    {
        var plane = s.Height * s.Width;
        for (long item = index; item < (long)s.Batch * plane && item < output.Length; item += stride)
        {
            var i = (int)item;
            var b = i / plane;
            var y = (i - (b * plane)) / s.Width;
            var x = i - (b * plane) - (y * s.Width);

            // Erasing works in output coordinates: torchvision erases the finished (cropped, flipped, normalised) tensor.
            var erased = s.Erase != 0 && Erased(key, b, y, x, s.Height, s.Width);
            if (s.Flip != 0 && key.Uniform((3L * b) + 2) < 0.5f)
            {
                x = s.Width - 1 - x;
            }

            if (s.Crop != 0)
            {
                y += Shift(key.Uniform(3L * b), s.Padding);
                x += Shift(key.Uniform((3L * b) + 1), s.Padding);
            }

            if (s.Mirror != 0)
            {
                x = s.Width - 1 - x;
            }

            y += s.ShiftY;
            x += s.ShiftX;
            var sample = indices[b];
            var value = 0f;
            if (sample < 0 || ((long)sample + 1) * plane > pixels.Length)
            {
                // A bad sample index must not read out of bounds; NaN makes the loss check name the step.
                value = float.NaN;
            }
            else if (y >= 0 && y < s.Height && x >= 0 && x < s.Width)
            {
                value = pixels[((long)sample * plane) + ((long)y * s.Width) + x] / 255f;
            }

            output[i] = erased && !float.IsNaN(value) ? 0f : (value - s.Mean) / s.Std;
        }
    }

    // Uniform in [0, 1) to a whole shift in [−padding, padding]; the clamp only guards rounding at 1.
    private static int Shift(float uniform, int padding) => XMath.Min((int)(uniform * ((2 * padding) + 1)), 2 * padding) - padding;

    /// <summary>
    /// torchvision's RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3)) with a single attempt: a sample whose
    /// drawn rectangle does not fit is left whole (torchvision retries up to 10 times; one attempt keeps the kernel free
    /// of loops and fits about 85 % of the time on 28×28). Whether (y, x) of sample b lies in its rectangle.
    /// </summary>
    internal static bool Erased(RngKey key, int b, int y, int x, int height, int width)
    {
        var e = (1L << 32) + (5L * b);
        if (key.Uniform(e) >= 0.5f)
        {
            return false;
        }

        var area = height * width * (0.02f + (0.31f * key.Uniform(e + 1)));
        var logRatio = EraseLogRatioMin + ((EraseLogRatioMax - EraseLogRatioMin) * key.Uniform(e + 2));
        var ratio = XMath.Exp(logRatio);
        var h = (int)(XMath.Sqrt(area * ratio) + 0.5f);
        var w = (int)(XMath.Sqrt(area / ratio) + 0.5f);
        if (h < 1 || w < 1 || h >= height || w >= width)
        {
            return false;
        }

        var top = XMath.Min((int)(key.Uniform(e + 3) * (height - h + 1)), height - h);
        var left = XMath.Min((int)(key.Uniform(e + 4) * (width - w + 1)), width - w);
        return y >= top && y < top + h && x >= left && x < left + w;
    }

    // ln 0.3 and ln 3.3, torchvision's aspect-ratio range, drawn log-uniformly.
    private const float EraseLogRatioMin = -1.2039728f;
    private const float EraseLogRatioMax = 1.1939225f;

    // One item per sample, grid-stride (ComputeDevice.Threads).
    private static void GatherLabelsKernel(Index1D index, int stride, ArrayView<int> output, ArrayView<int> labels, ArrayView<int> indices, int batch)
    {
        for (long b = index; b < batch && b < output.Length && b < indices.Length; b += stride)
        {
            // A bad sample index must not read out of bounds; -1 is no class, which the loss can reject.
            var sample = indices[b];
            output[b] = sample >= 0 && sample < labels.Length ? labels[sample] : -1;
        }
    }
}
