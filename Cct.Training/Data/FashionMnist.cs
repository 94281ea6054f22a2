namespace Cct.Training.Data;

/// <summary>FashionMNIST (60,000 training and 10,000 test images of 28×28 clothing in 10 classes), found or downloaded as the CLI does.</summary>
public static class FashionMnist
{
    /// <summary>
    /// Loads both splits from <paramref name="directory"/>, or else from the first folder of the CLI's search order that
    /// holds the four IDX files ($CCT_DATA, ~/.cache/cct/fashion-mnist, /usr/share/datasets/fashion-mnist from Debian's
    /// dataset-fashion-mnist), downloading them into the cache when none does.
    /// </summary>
    /// <exception cref="DatasetException">the files are missing, unreadable, or malformed; the message says how to fix it</exception>
    public static TrainingData Load(string? directory = null, CancellationToken cancellationToken = default)
        => TrainingData.Load(DatasetSpec.FashionMnist, directory, downloadProgress: null, cancellationToken);
}
