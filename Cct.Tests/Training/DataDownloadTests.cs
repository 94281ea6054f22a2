using System.Security.Cryptography;
using Cct.Training.Data;

namespace Cct.Tests.Training;

/// <summary>Downloads from a loopback HttpListener only; the real mirror is never contacted.</summary>
public sealed class DataDownloadTests
{
    private TempFolder folder = null!;
    private LoopbackServer server = null!;
    private HttpClient http = null!;
    private Dictionary<string, byte[]> files = null!;
    private DatasetSpec spec = null!;

    [SetUp]
    public void SetUp()
    {
        folder = new TempFolder();
        var source = folder.File("source");
        DataSamples.WriteDataset(source, 3, seed: 9);
        files = Directory.GetFiles(source).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        server = new LoopbackServer(files);
        http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        spec = DatasetSpec.FashionMnist with
        {
            MirrorUrl = server.Url,
            Md5 = files.ToDictionary(f => f.Key, f => Md5(f.Value)),
            SystemDirectories = [],
        };
    }

    [TearDown]
    public void TearDown()
    {
        http.Dispose();
        server.Dispose();
        folder.Dispose();
    }

    [Test]
    public async Task ResolveDownloadsIntoTheCacheWhenNothingIsFound()
    {
        var home = folder.File("home");
        var progress = new List<DownloadProgress>();

        var found = await DatasetProvider.ResolveAsync(spec, null, new DataEnvironment(null, home), http, progress.Add);

        var cache = Path.Combine(home, ".cache", "cct", "fashion-mnist");
        Assert.That((found.Source, found.Directory), Is.EqualTo((DatasetSource.Downloaded, cache)));
        Assert.That(Directory.GetFiles(cache).Select(Path.GetFileName).Order(), Is.EqualTo(files.Keys.Order()));
        foreach (var (name, bytes) in files)
        {
            Assert.That(File.ReadAllBytes(Path.Combine(cache, name)), Is.EqualTo(bytes), name);
            var last = progress.Last(p => p.FileName == name);
            Assert.That((last.BytesReceived, last.TotalBytes, last.FileCount), Is.EqualTo(((long)bytes.Length, (long?)bytes.Length, 4)), name);
        }

        Assert.That(progress.Select(p => p.FileIndex).Distinct(), Is.EqualTo(new[] { 0, 1, 2, 3 }));
        Assert.That(found.LoadTest(spec).Count, Is.EqualTo(3));

        // The next run finds the cache and downloads nothing.
        var requests = server.Requests.Count;
        var again = await DatasetProvider.ResolveAsync(spec, null, new DataEnvironment(null, home), http);
        Assert.That((again.Source, server.Requests.Count), Is.EqualTo((DatasetSource.Cache, requests)));
    }

    [Test]
    public void HashMismatchLeavesNothingBehind()
    {
        var target = folder.File("cache");
        var wrong = spec with { Md5 = spec.Md5.ToDictionary(m => m.Key, m => m.Key.StartsWith("train-images", StringComparison.Ordinal) ? new string('0', 32) : m.Value) };

        var error = Assert.ThrowsAsync<DatasetException>(() => new DatasetDownloader(http).DownloadAsync(wrong, target))!;

        Assert.That(error.Message, Does.StartWith($"downloaded {server.Url}train-images-idx3-ubyte.gz has MD5 {spec.Md5["train-images-idx3-ubyte.gz"]}, expected 00000000000000000000000000000000."));
        AssertManualHint(error.Message, spec.MirrorUrl);
        Assert.That(Directory.GetFileSystemEntries(target), Is.Empty);
    }

    [Test]
    public void MissingFileOnTheMirrorIsAnError()
    {
        files.Remove("t10k-images-idx3-ubyte.gz");
        var target = folder.File("cache");

        var error = Assert.ThrowsAsync<DatasetException>(() => new DatasetDownloader(http).DownloadAsync(spec, target))!;

        Assert.That(error.Message, Does.StartWith($"could not download {server.Url}t10k-images-idx3-ubyte.gz (HTTP 404 Not Found)."));
        AssertManualHint(error.Message, spec.MirrorUrl);
        // The two files before it were verified and stay; nothing partial does.
        Assert.That(Directory.GetFileSystemEntries(target).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz" }));
    }

    /// <summary>The connection drops halfway through a body: the partial temp file is removed.</summary>
    [Test]
    public void CutConnectionLeavesNothingBehind()
    {
        server.CutAfter = 100;
        var target = folder.File("cache");

        var error = Assert.ThrowsAsync<DatasetException>(() => new DatasetDownloader(http).DownloadAsync(spec, target))!;

        Assert.That(error.Message, Does.StartWith($"could not download {server.Url}train-images-idx3-ubyte.gz ("));
        AssertManualHint(error.Message, spec.MirrorUrl);
        Assert.That(Directory.GetFileSystemEntries(target), Is.Empty);
    }

    [Test]
    public void UnreachableMirrorIsAnError()
    {
        var closed = spec with { MirrorUrl = new Uri($"http://127.0.0.1:{LoopbackServer.FreePort()}/") };
        var error = Assert.ThrowsAsync<DatasetException>(() => new DatasetDownloader(http).DownloadAsync(closed, folder.File("cache")))!;
        Assert.That(error.Message, Does.StartWith($"could not download {closed.MirrorUrl}train-images-idx3-ubyte.gz ("));
        AssertManualHint(error.Message, closed.MirrorUrl);
    }

    /// <summary>Files a failed run already verified are not fetched again; a corrupt one is replaced.</summary>
    [Test]
    public async Task KeepsVerifiedFilesAndReplacesCorruptOnes()
    {
        var target = folder.File("cache");
        Directory.CreateDirectory(target);
        File.WriteAllBytes(Path.Combine(target, "train-images-idx3-ubyte.gz"), files["train-images-idx3-ubyte.gz"]);
        File.WriteAllBytes(Path.Combine(target, "train-labels-idx1-ubyte.gz"), [1, 2, 3]);

        await new DatasetDownloader(http).DownloadAsync(spec, target);

        Assert.That(server.Requests.Order(), Is.EqualTo(new[] { "/t10k-images-idx3-ubyte.gz", "/t10k-labels-idx1-ubyte.gz", "/train-labels-idx1-ubyte.gz" }));
        Assert.That(File.ReadAllBytes(Path.Combine(target, "train-labels-idx1-ubyte.gz")), Is.EqualTo(files["train-labels-idx1-ubyte.gz"]));
    }

    [Test]
    public void HintNamesTheOfficialMirrorAndForMnistNoAptPackage()
    {
        Assert.That(DatasetDownloader.ManualHint(DatasetSpec.FashionMnist), Does.Contain("(from http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/)"));
        var hint = DatasetDownloader.ManualHint(DatasetSpec.Mnist);
        Assert.That(hint, Does.Not.Contain("apt-get"));
        Assert.That(hint, Does.Contain("pass --data DIR"));
        Assert.That(hint, Does.Contain("https://ossci-datasets.s3.amazonaws.com/mnist/"));
    }

    private static void AssertManualHint(string message, Uri mirror)
    {
        Assert.That(message, Does.EndWith(
            "To get fashion-mnist by hand: install it with 'sudo apt-get install dataset-fashion-mnist', or put the four files "
            + "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz "
            + $"(from {mirror}) in a folder and pass --data DIR."));
        Assert.That(message, Does.Not.Contain('\n'));
    }

    private static string Md5(byte[] bytes) => Convert.ToHexStringLower(MD5.HashData(bytes));
}
