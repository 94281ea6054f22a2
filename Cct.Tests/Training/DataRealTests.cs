using Cct.Training.Data;

namespace Cct.Tests.Training;

/// <summary>Reads Debian's dataset-fashion-mnist, which this machine and CI install; its absence is a failure, not a skip.</summary>
[Category("RealData")]
public sealed class DataRealTests
{
    private const string SystemFolder = "/usr/share/datasets/fashion-mnist";

    [Test]
    public void ReadsTheDebianFashionMnistTestSet()
    {
        var files = FindSystemCopy();
        var test = files.LoadTest(DatasetSpec.FashionMnist);

        Assert.That((test.Count, test.Rows, test.Cols), Is.EqualTo((10_000, 28, 28)));
        Assert.That(test.Labels[0], Is.EqualTo(9));
        Assert.That(test.ClassNames[test.Labels[0]], Is.EqualTo("Ankle boot"));
        Assert.That(Enumerable.Range(0, 10).Select(c => test.Labels.Count(l => l == c)), Is.All.EqualTo(1000));
    }

    /// <summary>The spec's normalisation constants are the training set's pixel mean and std.</summary>
    [Test]
    public void TrainingSetMatchesTheNormalisationConstants()
    {
        var train = FindSystemCopy().LoadTrain(DatasetSpec.FashionMnist);
        Assert.That(train.Count, Is.EqualTo(60_000));
        double sum = 0, squares = 0;
        foreach (var p in train.Pixels)
        {
            sum += p / 255.0;
            squares += p / 255.0 * (p / 255.0);
        }

        var mean = sum / train.Pixels.Length;
        var std = Math.Sqrt((squares / train.Pixels.Length) - (mean * mean));
        Assert.That(mean, Is.EqualTo(DatasetSpec.FashionMnist.Mean).Within(5e-5));
        Assert.That(std, Is.EqualTo(DatasetSpec.FashionMnist.Std).Within(5e-5));
    }

    private static DatasetFiles FindSystemCopy()
    {
        if (!Directory.Exists(SystemFolder))
        {
            Assert.Fail($"{SystemFolder} is missing: install it with 'sudo apt-get install dataset-fashion-mnist'");
        }

        // No --data, no $CCT_DATA, no home: only the system folder can match.
        var files = DatasetLocator.Find(DatasetSpec.FashionMnist, null, new DataEnvironment(null, ""));
        Assert.That(files, Is.Not.Null, $"{SystemFolder} lacks the four IDX files: reinstall dataset-fashion-mnist");
        Assert.That((files!.Source, files.Directory), Is.EqualTo((DatasetSource.System, SystemFolder)));
        return files;
    }
}
