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
    /// <summary>Held-out images for early stopping and the best checkpoint; none unless set or split off by <see cref="TrainOptions"/>.</summary>
    public ImageDataset? Validation { get; init; }

    /// <summary>
    /// The data a run uses under <paramref name="options"/>: a seeded <see cref="TrainOptions.ValidationSplit"/> of
    /// the training images when no validation set is given, then <see cref="TrainOptions.TrainLimit"/> and
    /// <see cref="TrainOptions.TestLimit"/>.
    /// </summary>
    internal TrainingData For(TrainOptions options)
    {
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
