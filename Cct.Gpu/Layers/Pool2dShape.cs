namespace Cct.Gpu.Layers;

/// <summary>Dimensions of one square-window 2D pooling over NCHW tensors; floor mode, as PyTorch's ceil_mode=False.</summary>
internal readonly record struct Pool2dShape(int Batch, int Channels, int Height, int Width, int Kernel, int Stride, int Padding)
{
    public int OutHeight => ((Height + (2 * Padding) - Kernel) / Stride) + 1;

    public int OutWidth => ((Width + (2 * Padding) - Kernel) / Stride) + 1;
}
