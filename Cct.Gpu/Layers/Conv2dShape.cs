namespace Cct.Gpu.Layers;

/// <summary>Dimensions of one square-kernel 2D convolution over NCHW tensors.</summary>
internal readonly record struct Conv2dShape(int Batch, int InChannels, int Height, int Width, int OutChannels, int Kernel, int Stride, int Padding)
{
    public int OutHeight => ((Height + (2 * Padding) - Kernel) / Stride) + 1;

    public int OutWidth => ((Width + (2 * Padding) - Kernel) / Stride) + 1;
}
