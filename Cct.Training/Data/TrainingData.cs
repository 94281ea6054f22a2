using Cct.Training.Training;

namespace Cct.Training.Data;

/// <summary>
/// The images a model trains and is tested on. Cut it down with a <c>with</c> expression, e.g.
/// <c>data with { Train = data.Train.Take(5000) }</c>.
/// </summary>
/// <param name="Train">training images and labels</param>
/// <param name="Test">test images and labels, scored after every epoch</param>
/// <param name="Spec">the dataset's description: class names and pixel statistics</param>
public sealed record TrainingData(ImageDataset Train, ImageDataset Test, DatasetSpec Spec)
{
    /// <summary>
    /// Both splits of <paramref name="spec"/>'s dataset from <paramref name="directory"/>, or else from the first folder of
    /// the search order that holds its four IDX files ($CCT_DATA, ~/.cache/cct/NAME, the distribution's folder), downloading
    /// them into the cache when none does and reporting each chunk to <paramref name="downloadProgress"/>.
    /// </summary>
    /// <exception cref="DatasetException">the files are missing, unreadable, malformed, or cannot be downloaded; the message says how to fix it</exception>
    public static TrainingData Load(DatasetSpec spec, string? directory = null, Action<DownloadProgress>? downloadProgress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var files = DatasetProvider.ResolveAsync(spec, directory, DataEnvironment.Current, http, downloadProgress, cancellationToken).GetAwaiter().GetResult();
        return new TrainingData(files.LoadTrain(spec), files.LoadTest(spec), spec) { Folder = files.Directory };
    }

    /// <summary>The folder the images were read from, when <see cref="Load"/> read them.</summary>
    public string? Folder { get; init; }

    /// <summary>Held-out images for early stopping and the best checkpoint; none unless set or split off by <see cref="TrainOptions"/>.</summary>
    public ImageDataset? Validation { get; init; }

    /// <summary>
    /// The data a run uses under <paramref name="options"/>: a seeded <see cref="TrainOptions.ValidationSplit"/> of
    /// the training images when no validation set is given, then <see cref="TrainOptions.TrainLimit"/> and
    /// <see cref="TrainOptions.TestLimit"/>. <see cref="Trainer"/> trains on this; the split is a function of the seed.
    /// </summary>
    public TrainingData For(TrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var train = Train;
        var validation = Validation;
        if (validation is null && options.ValidationSplit > 0)
        {
            (train, validation) = train.Split(options.ValidationSplit, options.Seed);
        }

        return this with
        {
            Train = options.TrainLimit > 0 ? train.Take(options.TrainLimit) : train,
            Validation = validation,
            Test = options.TestLimit > 0 ? Test.Take(options.TestLimit) : Test,
        };
    }
}
