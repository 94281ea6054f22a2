using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// The gather that folds a window op's gradient back onto its input: for input element (h, w), the sum over the window
/// taps (kh, kw) whose output (oh, ow) = ((h + padding − kh) / stride, …) exists, in ascending (kh, kw). Only the taps
/// kh ≡ h + padding (mod stride) land on an output row, so the loop starts there and steps by the stride: one
/// <see cref="FastDivisor"/> per axis instead of two divisions per tap (the vector units have none; cct-tiny at batch 64 on PoCL spent 9 ms of a
/// 110 ms step in MaxPool2d's backward with the per-tap divisions). Used by <see cref="MaxPool2d"/>'s backward and
/// <see cref="UnfoldedConvolution"/>'s fold, each with its <see cref="ITapReader"/>.
/// </summary>
internal static class LandingTaps
{
    public static float Sum<TReader>(int h, int w, int kernel, FastDivisor stride, int padding, int outHeight, int outWidth, TReader reader)
        where TReader : struct, ITapReader
    {
        var (topRow, firstRow) = stride.DivRem(h + padding);
        var (topColumn, firstColumn) = stride.DivRem(w + padding);
        var sum = 0f;
        for (int kh = firstRow, oh = topRow; kh < kernel; kh += stride.Divisor, oh--)
        {
            if (oh < 0 || oh >= outHeight)
            {
                continue;
            }

            for (int kw = firstColumn, ow = topColumn; kw < kernel; kw += stride.Divisor, ow--)
            {
                if (ow >= 0 && ow < outWidth)
                {
                    sum += reader.Read(kh, kw, oh, ow);
                }
            }
        }

        return sum;
    }
}
