namespace Cct.Gpu.Data;

/// <summary>
/// The random augmentation of a training batch (<see cref="BatchAssembler"/>): a zero-padded random crop, which is a
/// random translation by up to <paramref name="Padding"/> pixels per axis; a horizontal flip with probability 0.5; and
/// random erasing (torchvision's RandomErasing defaults, one attempt).
/// </summary>
/// <param name="Crop">translate by a shift uniform in [−Padding, Padding] per axis, filling with 0 (torchvision's RandomCrop(padding))</param>
/// <param name="Flip">mirror left–right with probability 0.5</param>
/// <param name="Padding">the crop's padding: the largest shift</param>
/// <param name="Erase">with probability 0.5 set a rectangle of 2–33 % of the image, aspect 0.3–3.3, to 0 after normalisation (the dataset mean)</param>
internal readonly record struct BatchAugmentation(bool Crop, bool Flip, int Padding = BatchAssembler.Padding, bool Erase = false)
{
    /// <summary>No augmentation: the images as they are.</summary>
    public static BatchAugmentation None => new(Crop: false, Flip: false);
}
