namespace Cct.Training.Training;

/// <summary>
/// Views averaged at evaluation: the softmax probabilities of each view of an image are averaged (in double, in the
/// order listed), and the prediction, accuracy and loss come from the average.
/// </summary>
public enum TestTimeAugmentation
{
    /// <summary>The image alone.</summary>
    None,

    /// <summary>The image and its horizontal mirror (2 views).</summary>
    Flip,

    /// <summary>
    /// The image and its mirror, each also translated by one pixel up-left and one pixel down-right with zero fill
    /// (6 views, equally weighted), as airbench's test-time augmentation.
    /// </summary>
    FlipTranslate,
}
