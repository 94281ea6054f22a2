using System.Text;
using Cct.Training.Reports;

namespace Cct.Tests.Training;

public sealed class MetricsLogTests
{
    private string directory = "";

    private string LogPath => Path.Combine(directory, MetricsLog.FileName);

    [SetUp]
    public void CreateDirectory() => directory = Directory.CreateTempSubdirectory("cct-metrics-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(directory, recursive: true);

    internal static EpochMetrics Epoch(int epoch, double? val = null, double? test = null)
        => new(epoch, 2.0 / epoch, 0.5 + (0.04 * epoch), val, val is null ? null : 0.45 + (0.04 * epoch), test, 5.5e-4 / epoch, 1234.5, 61.25);

    [Test]
    public void AppendedEpochsReadBackExactly()
    {
        EpochMetrics[] epochs = [Epoch(1), Epoch(2, val: 0.7), Epoch(3, val: 0.61, test: 0.8123)];
        foreach (var e in epochs)
        {
            MetricsLog.Append(LogPath, e);
        }

        var read = MetricsLog.Read(LogPath);
        Assert.That(read.Epochs, Is.EqualTo(epochs));
        Assert.That(read.Warnings, Is.Empty);
    }

    [Test]
    public void LinesUseTheDocumentedSnakeCaseKeysAndExplicitNulls()
    {
        MetricsLog.Append(LogPath, Epoch(1));
        var line = File.ReadAllText(LogPath);
        Assert.That(line, Does.EndWith("}\n"));
        Assert.That(line.Count(c => c == '\n'), Is.EqualTo(1));
        foreach (var key in new[] { "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_acc", "lr", "images_per_second", "seconds" })
        {
            Assert.That(line, Does.Contain($"\"{key}\":"), key);
        }

        Assert.That(line, Does.Contain("\"val_loss\":null"));
        Assert.That(line, Does.Contain("\"lr\":0.00055"));
    }

    [Test]
    public void TornLastLineIsSkippedWithAWarningAndCutOffByTheNextAppend()
    {
        MetricsLog.Append(LogPath, Epoch(1));
        MetricsLog.Append(LogPath, Epoch(2));
        File.AppendAllText(LogPath, "{\"epoch\":3,\"train_lo");

        var torn = MetricsLog.Read(LogPath);
        Assert.That(torn.Epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(torn.Warnings, Has.Count.EqualTo(1));
        Assert.That(torn.Warnings[0], Does.Contain(":3:").And.Contain("truncated last line"));

        MetricsLog.Append(LogPath, Epoch(3));
        var repaired = MetricsLog.Read(LogPath);
        Assert.That(repaired.Epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(repaired.Warnings, Is.Empty);
    }

    [Test]
    public void CompleteLastLineWithoutNewlineIsKeptByAppend()
    {
        MetricsLog.Append(LogPath, Epoch(1));
        File.WriteAllText(LogPath, File.ReadAllText(LogPath).TrimEnd('\n'));
        MetricsLog.Append(LogPath, Epoch(2));
        Assert.That(MetricsLog.Read(LogPath).Epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 1, 2 }));
    }

    [Test]
    public void MalformedMiddleLinesAreReportedNotFatal()
    {
        File.WriteAllText(LogPath, "not json\n\n{\"epoch\":1}\n", Encoding.UTF8);
        MetricsLog.Append(LogPath, Epoch(2));
        var read = MetricsLog.Read(LogPath);
        Assert.That(read.Epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 2 }));
        // The object missing required keys is rejected too, not read as zeros.
        Assert.That(read.Warnings, Has.Count.EqualTo(2));
        Assert.That(read.Warnings[0], Does.Contain(":1:").And.Not.Contain("truncated"));
        Assert.That(read.Warnings[1], Does.Contain(":3:"));
    }

    [Test]
    public void NonFiniteLossesSurviveTheRoundTrip()
    {
        var diverged = Epoch(1) with { TrainLoss = double.NaN, ValLoss = double.PositiveInfinity };
        MetricsLog.Append(LogPath, diverged);
        var read = MetricsLog.Read(LogPath).Epochs.Single();
        Assert.That(read.TrainLoss, Is.NaN);
        Assert.That(read.ValLoss, Is.EqualTo(double.PositiveInfinity));
    }

    [Test]
    public void WriteReplacesTheWholeFileAndLeavesNoTemporaryFile()
    {
        MetricsLog.Append(LogPath, Epoch(1));
        MetricsLog.Append(LogPath, Epoch(2));
        MetricsLog.Append(LogPath, Epoch(3));
        MetricsLog.Write(LogPath, MetricsLog.Read(LogPath).Epochs.Take(2));
        Assert.That(MetricsLog.Read(LogPath).Epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(Directory.GetFiles(directory), Is.EqualTo(new[] { LogPath }));
    }
}
