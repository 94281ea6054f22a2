namespace Cct.Gpu.Data;

/// <summary>
/// A fixed view of every image of a batch, for test-time augmentation: output pixel (y, x) reads the source pixel
/// (y + ShiftY, x' + ShiftX), where x' is x mirrored when <paramref name="Mirror"/> is set; pixels from outside the
/// image are 0 before normalisation, as the training crop pads.
/// </summary>
/// <param name="Mirror">mirror left–right</param>
/// <param name="ShiftY">rows to read below (negative: above)</param>
/// <param name="ShiftX">columns to read to the right (negative: to the left)</param>
internal readonly record struct BatchView(bool Mirror, int ShiftY, int ShiftX)
{
    /// <summary>The image itself.</summary>
    public static BatchView Identity => default;
}
