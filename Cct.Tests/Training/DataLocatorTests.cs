using Cct.Training.Data;

namespace Cct.Tests.Training;

public sealed class DataLocatorTests
{
    private TempFolder folder = null!;
    private string data = null!;
    private string env = null!;
    private string home = null!;
    private string cache = null!;
    private string system = null!;
    private DatasetSpec spec = null!;

    [SetUp]
    public void SetUp()
    {
        folder = new TempFolder();
        data = folder.File("data");
        env = folder.File("env");
        home = folder.File("home");
        cache = Path.Combine(home, ".cache", "cct", "fashion-mnist");
        system = folder.File("system");
        spec = DatasetSpec.FashionMnist with { SystemDirectories = [system] };
    }

    [TearDown]
    public void TearDown() => folder.Dispose();

    [Test]
    public void SearchesDataThenEnvironmentThenCacheThenSystem()
    {
        var expected = new Dictionary<DatasetSource, byte[]>
        {
            [DatasetSource.DataOption] = DataSamples.WriteDataset(data, 2, seed: 1),
            [DatasetSource.EnvironmentVariable] = DataSamples.WriteDataset(env, 2, seed: 2),
            [DatasetSource.Cache] = DataSamples.WriteDataset(cache, 2, seed: 3),
            [DatasetSource.System] = DataSamples.WriteDataset(system, 2, seed: 4),
        };
        var environment = new DataEnvironment(env, home);

        AssertFound(DatasetLocator.Find(spec, data, environment), DatasetSource.DataOption, data, expected);
        AssertFound(DatasetLocator.Find(spec, null, environment), DatasetSource.EnvironmentVariable, env, expected);
        AssertFound(DatasetLocator.Find(spec, null, environment with { CctData = null }), DatasetSource.Cache, cache, expected);
        Directory.Delete(cache, recursive: true);
        AssertFound(DatasetLocator.Find(spec, null, environment with { CctData = "" }), DatasetSource.System, system, expected);
        Directory.Delete(system, recursive: true);
        Assert.That(DatasetLocator.Find(spec, null, environment with { CctData = null }), Is.Null);
    }

    /// <summary>A folder that lacks files is skipped, except --data, which the user named.</summary>
    [Test]
    public void IncompleteFoldersFallThroughButDataIsAnError()
    {
        DataSamples.WriteDataset(env, 2, seed: 1);
        File.Delete(Path.Combine(env, "t10k-labels-idx1-ubyte.gz"));
        DataSamples.WriteDataset(system, 2, seed: 2);
        Directory.CreateDirectory(data);
        var environment = new DataEnvironment(env, home);

        Assert.That(DatasetLocator.Find(spec, null, environment)!.Source, Is.EqualTo(DatasetSource.System));

        var error = Assert.Throws<DatasetException>(() => DatasetLocator.Find(spec, env, environment))!;
        Assert.That(error.Message, Is.EqualTo($"--data {env}: missing t10k-labels-idx1-ubyte[.gz] (looked there and in {Path.Combine(env, "fashion-mnist")})"));
        error = Assert.Throws<DatasetException>(() => DatasetLocator.Find(spec, folder.File("nowhere"), environment))!;
        Assert.That(error.Message, Is.EqualTo($"--data {folder.File("nowhere")}: no such folder"));
    }

    [Test]
    public void AcceptsRawFilesAndADatasetSubfolder()
    {
        var pixels = DataSamples.WriteDataset(Path.Combine(env, "fashion-mnist"), 3, seed: 5, gzip: false);
        var found = DatasetLocator.Find(spec, null, new DataEnvironment(env, home))!;
        Assert.That(found.TrainImages, Is.EqualTo(Path.Combine(env, "fashion-mnist", "train-images-idx3-ubyte")));
        Assert.That(found.LoadTrain(spec).Pixels, Is.EqualTo(pixels));
        Assert.That(found.LoadTest(spec).Count, Is.EqualTo(3));
    }

    [Test]
    public void CacheFollowsTheDatasetName()
    {
        var environment = new DataEnvironment(null, home);
        Assert.That(environment.CacheDirectory(DatasetSpec.Mnist), Is.EqualTo(Path.Combine(home, ".cache", "cct", "mnist")));
        DataSamples.WriteDataset(cache, 2, seed: 1);
        Assert.That(DatasetLocator.Find(DatasetSpec.Mnist, null, environment), Is.Null);
        var error = Assert.Throws<DatasetException>(() => new DataEnvironment(null, "").CacheDirectory(DatasetSpec.Mnist))!;
        Assert.That(error.Message, Is.EqualTo("cannot find a home folder to cache mnist in; set CCT_DATA or pass --data DIR"));
    }

    private void AssertFound(DatasetFiles? found, DatasetSource source, string directory, Dictionary<DatasetSource, byte[]> expected)
    {
        Assert.That(found, Is.Not.Null, source.ToString());
        Assert.That((found!.Source, found.Directory), Is.EqualTo((source, directory)));
        Assert.That(found.TestLabels, Is.EqualTo(Path.Combine(directory, "t10k-labels-idx1-ubyte.gz")));
        Assert.That(found.LoadTrain(spec).Pixels, Is.EqualTo(expected[source]));
    }
}
