using Cct.Training.Data;

namespace Cct.Tests.Training;

public sealed class DataSetTests
{
    [Test]
    public void SpecsCarryClassNamesAndNormalisation()
    {
        var fashion = DatasetSpec.For(DatasetKind.FashionMnist);
        Assert.That(fashion.ClassNames, Is.EqualTo(new[] { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" }));
        Assert.That((fashion.Mean, fashion.Std, fashion.Name), Is.EqualTo((0.2860f, 0.3530f, "fashion-mnist")));
        var mnist = DatasetSpec.For(DatasetKind.Mnist);
        Assert.That(mnist.ClassNames, Is.EqualTo(Enumerable.Range(0, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        Assert.That((mnist.Mean, mnist.Std, mnist.Name), Is.EqualTo((0.1307f, 0.3081f, "mnist")));
        Assert.That(DatasetSpec.Parse("MNIST"), Is.SameAs(mnist));
        Assert.That(DatasetSpec.Parse("fashion-mnist"), Is.SameAs(fashion));
        var error = Assert.Throws<DatasetException>(() => DatasetSpec.Parse("cifar10"))!;
        Assert.That(error.Message, Is.EqualTo("unknown dataset 'cifar10'; expected fashion-mnist or mnist"));
    }

    [Test]
    public void SliceAndTakeCopyTheRightImages()
    {
        var set = Sample(7);
        var slice = set.Slice(2, 3);
        Assert.That(slice.Count, Is.EqualTo(3));
        Assert.That(slice.Labels, Is.EqualTo(set.Labels[2..5]));
        Assert.That(slice.Pixels, Is.EqualTo(set.Pixels[(2 * 784)..(5 * 784)]));
        Assert.That(slice.Image(0).ToArray(), Is.EqualTo(set.Image(2).ToArray()));
        Assert.That(set.Take(4).Labels, Is.EqualTo(set.Labels[..4]));
        Assert.That(set.Take(100).Count, Is.EqualTo(7));
        Assert.That(set.LabelsAsInts(), Is.EqualTo(set.Labels.Select(l => (int)l)));
        Assert.Throws<ArgumentOutOfRangeException>(() => set.Slice(5, 3));
    }

    [Test]
    public void SplitIsDeterministicDisjointAndComplete()
    {
        var set = Sample(50);
        var (train, validation) = set.Split(0.1, seed: 7);
        var (train2, validation2) = set.Split(0.1, seed: 7);
        var (_, other) = set.Split(0.1, seed: 8);

        Assert.That((train.Count, validation.Count), Is.EqualTo((45, 5)));
        Assert.That(train2.Pixels, Is.EqualTo(train.Pixels));
        Assert.That(validation2.Pixels, Is.EqualTo(validation.Pixels));
        Assert.That(other.Pixels, Is.Not.EqualTo(validation.Pixels));

        // Every image lands in exactly one part, with its own label (the first pixel bytes identify images).
        var all = Enumerable.Range(0, set.Count).Select(i => Key(set, i)).Order().ToList();
        var parts = Enumerable.Range(0, train.Count).Select(i => Key(train, i))
            .Concat(Enumerable.Range(0, validation.Count).Select(i => Key(validation, i))).Order().ToList();
        Assert.That(parts, Is.EqualTo(all));
        Assert.That(set.Split(0, seed: 1).Validation.Count, Is.Zero);
        Assert.Throws<DatasetException>(() => set.Split(1.0, seed: 1));
    }

    /// <summary>The split's shuffle is fixed arithmetic (SplitMix64), so runs agree across .NET versions; this pins it.</summary>
    [Test]
    public void SplitChoiceIsPinned()
    {
        var set = new ImageDataset(1, 1, Enumerable.Range(0, 10).Select(i => (byte)i).ToArray(), new byte[10], DatasetSpec.Mnist.ClassNames);
        var (_, validation) = set.Split(0.3, seed: 0);
        Assert.That(validation.Pixels, Is.EqualTo(PinnedValidation));
    }

    // From an independent Python SplitMix64 Fisher–Yates of 0..9 with seed 0, first 3 sorted.
    private static readonly byte[] PinnedValidation = [2, 3, 6];

    private static string Key(ImageDataset set, int i) => $"{Convert.ToHexString(set.Image(i)[..8])}:{set.Labels[i]}";

    private static ImageDataset Sample(int count)
    {
        var (pixels, labels) = DataSamples.Random(count, seed: count);
        return new ImageDataset(28, 28, pixels, labels, DatasetSpec.FashionMnist.ClassNames);
    }
}
