using System.Security.Cryptography;
using Cct.Gpu.IO;
using Cct.Training.Checkpoints;
using Cct.Training.Reports;
using Cct.Training.Training;

namespace Cct.Tests.Training;

/// <summary>
/// Determinism and crash safety of `cct train` across separate processes: the real executable, killed with real
/// signals (at exact steps through the test-only $CCT_TEST_FAULT hook), resumed in a fresh process, must end with
/// checkpoints byte-identical to one uninterrupted run. cct-tiny on 96 real FashionMNIST images, batch 16:
/// 6 steps an epoch, 2 epochs, crop and flip on so the augmentation RNG is exercised too.
/// </summary>
[Category("Cli")]
[Category("RealData")]
public sealed class RunProcessTests
{
    private const int StepsPerEpoch = 6;
    private string root = string.Empty;
    private string data = string.Empty;
    private string reference = string.Empty;

    private string[] Command(string output, int seed = 3) =>
        ["train", "--model", "cct-tiny", "--epochs", "2", "--batch", "16", "--train-limit", "96", "--test-limit", "32", "--augment", "crop,flip",
         "--data", data, "--accelerator", "cpu", "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", output];

    [OneTimeSetUp]
    public void TrainTheReferenceRun()
    {
        root = Path.Combine(Path.GetTempPath(), "cct-process-" + Guid.NewGuid().ToString("N"));
        data = CliRunner.FashionMnistSlice(Path.Combine(root, "data"), 96, 32);
        reference = Path.Combine(root, "reference");
        var run = CliProcess.Run(Command(reference));
        Assert.That(run.ExitCode, Is.Zero, run.Error);
    }

    [OneTimeTearDown]
    public void DeleteFolder() => Directory.Delete(root, recursive: true);

    [Test]
    public void SameSeedGivesIdenticalCheckpointsAndAnotherSeedDoesNot()
    {
        var again = Path.Combine(root, "again");
        var run = CliProcess.Run(Command(again));
        Assert.That(run.ExitCode, Is.Zero, run.Error);
        AssertSameCheckpoints(again);

        var other = Path.Combine(root, "seed4");
        run = CliProcess.Run(Command(other, seed: 4));
        Assert.That(run.ExitCode, Is.Zero, run.Error);
        var a = SafeTensorsFile.Read(Path.Combine(reference, Trainer.LastCheckpoint));
        var b = SafeTensorsFile.Read(Path.Combine(other, Trainer.LastCheckpoint));
        foreach (var name in new[] { "tokenizer.conv_layers.0.0.weight", "classifier.positional_emb", "classifier.fc.weight" })
        {
            Assert.That(b[name].Data, Is.Not.EqualTo(a[name].Data), name);
        }
    }

    /// <summary>SIGKILL in epoch 2 (nothing saved since epoch 1), then the original command with --resume appended.</summary>
    [Test]
    public void SigkillInTheSecondEpochThenResumeEndsIdentical()
    {
        var run = Path.Combine(root, "sigkill");
        var killed = CliProcess.Run(Command(run), fault: $"sigkill-at-step:{StepsPerEpoch + 2}");
        Assert.That(killed.ExitCode, Is.EqualTo(128 + 9), "killed by SIGKILL");
        Assert.That(Checkpoint.Load(Path.Combine(run, Trainer.LastCheckpoint)).State.Epoch, Is.EqualTo(1));

        Resume(run);
        AssertSameCheckpoints(run);
    }

    /// <summary>SIGINT (Ctrl+C) in the middle of epoch 1: checkpoint-last records the batch, and the resumed run continues from it.</summary>
    [Test]
    public void SigintMidEpochThenResumeEndsIdentical()
    {
        var run = Path.Combine(root, "sigint");
        var interrupted = CliProcess.Run(Command(run), fault: "sigint-at-step:2");
        Assert.That(interrupted.ExitCode, Is.EqualTo(130), interrupted.Error);
        Assert.That(interrupted.Out, Does.Contain("interrupted: saved checkpoint-last"));
        var state = Checkpoint.Load(Path.Combine(run, Trainer.LastCheckpoint)).State;
        Assert.Multiple(() =>
        {
            Assert.That(state.Epoch, Is.Zero);
            Assert.That(state.BatchInEpoch, Is.InRange(3, StepsPerEpoch - 1), "stopped inside the epoch, after the signal's step");
            Assert.That(state.Step, Is.EqualTo(state.BatchInEpoch));
            Assert.That(state.EpochSums, Is.Not.Null);
        });

        Resume(run);
        AssertSameCheckpoints(run);
    }

    /// <summary>
    /// SIGKILL inside the third checkpoint write of the run (epoch 2's first), between the fsynced temporary file
    /// and the rename: both checkpoints on disk stay readable, checkpoint-last still at epoch 1, and a resume ends identical.
    /// </summary>
    [Test]
    public void KillWhileWritingACheckpointLeavesThePreviousOneReadable()
    {
        var run = Path.Combine(root, "savekill");
        var killed = CliProcess.Run(Command(run), fault: "sigkill-in-save:3");
        Assert.That(killed.ExitCode, Is.EqualTo(128 + 9), "killed by SIGKILL");
        Assert.Multiple(() =>
        {
            Assert.That(Directory.GetFiles(run, ".checkpoint-*.tmp"), Has.Length.EqualTo(1), "the kill came mid-write");
            Assert.That(Checkpoint.Load(Path.Combine(run, Trainer.LastCheckpoint)).State.Epoch, Is.EqualTo(1));
            Assert.That(Checkpoint.Load(Path.Combine(run, Trainer.BestCheckpoint)).State.Epoch, Is.EqualTo(1));
        });

        Resume(run);
        AssertSameCheckpoints(run);
        Assert.That(MetricsLog.Read(Path.Combine(run, MetricsLog.FileName)).Epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 1, 2 }), "epoch 2 is logged once");
    }

    /// <summary>A second `cct train` into a folder that a live one is writing is refused; once that one dies (SIGKILL), the lock is free.</summary>
    [Test]
    public void ASecondTrainIntoALiveRunFolderIsRefused()
    {
        var busy = Path.Combine(root, "busy");

        // 1,000 images make epoch 1 far longer than this test needs, so no checkpoint appears meanwhile.
        var bigger = CliRunner.FashionMnistSlice(Path.Combine(root, "data-1000"), 1000, 32);
        string[] command = ["train", "--model", "cct-tiny", "--batch", "16", "--data", bigger, "--accelerator", "cpu", "--out", busy];
        using var first = CliProcess.Start(command);
        try
        {
            var started = first.StandardOutput.ReadLineAsync();
            Assert.That(started.Wait(TimeSpan.FromSeconds(120)), Is.True, "the first run starts");
            Assert.That(started.Result, Does.StartWith("cct: cct-tiny"), first.HasExited ? first.StandardError.ReadToEnd() : started.Result);

            var (code, _, error) = CliRunner.Run(command);
            Assert.Multiple(() =>
            {
                Assert.That(code, Is.EqualTo(2));
                Assert.That(error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), error);
                Assert.That(error, Does.Contain("is in use by another cct train"));
                Assert.That(first.HasExited, Is.False, "the first run goes on");
            });
        }
        finally
        {
            first.Kill();
            first.WaitForExit();
        }

        using var free = RunLock.Acquire(busy);
    }

    /// <summary>Options that contradict the checkpoint are refused with one line, before anything is written.</summary>
    [TestCase("--model", "cct-2/3x2")]
    [TestCase("--batch", "32")]
    [TestCase("--seed", "4")]
    [TestCase("--dataset", "mnist")]
    [TestCase("--train-limit", "50")]
    [TestCase("--dim", "32")]
    public void ResumeRefusesOptionsThatContradictTheCheckpoint(string option, string value)
    {
        var output = Path.Combine(root, "contradiction-" + Guid.NewGuid().ToString("N"));
        var (code, _, error) = CliRunner.Run([.. Command(output), "--resume", Path.Combine(reference, Trainer.LastCheckpoint), option, value]);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(2));
            Assert.That(error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), error);
            Assert.That(error, Does.Contain($"{option} {value} contradicts the checkpoint"));
            Assert.That(Directory.Exists(output), Is.False);
        });
    }

    /// <summary>
    /// A checkpoint whose classifier biases are ±3e38 (finite, so it loads) makes the next step's loss infinite:
    /// training stops with one line naming the step, exit code 1, and checkpoint-last untouched.
    /// </summary>
    [Test]
    public void DivergenceStopsWithOneLineAndKeepsTheLastCheckpoint()
    {
        var run = Path.Combine(root, "diverged");
        Directory.CreateDirectory(run);
        var last = Path.Combine(run, Trainer.LastCheckpoint);
        var source = SafeTensorsFile.Read(Path.Combine(reference, Trainer.LastCheckpoint));
        var tensors = source.Tensors.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
        var bias = tensors["classifier.fc.bias"];
        tensors["classifier.fc.bias"] = SafeTensor.FromFloats(Enumerable.Range(0, bias.Shape[0]).Select(k => k % 2 == 0 ? 3e38f : -3e38f).ToArray(), bias.Shape);
        new SafeTensorsFile(tensors, source.Metadata).Write(last);
        var before = File.ReadAllBytes(last);

        string[] command = [.. Command(run), "--epochs", "3", "--resume", last];
        var (code, _, error) = CliRunner.Run(command);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1), error);
            Assert.That(error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), error);
            Assert.That(error, Does.Contain($"loss became NaN or infinite at step {(2 * StepsPerEpoch) + 1}"));
            Assert.That(File.ReadAllBytes(last), Is.EqualTo(before), "checkpoint-last is the last good one");
            Assert.That(File.Exists(Path.Combine(run, Trainer.BestCheckpoint)), Is.False);
        });
    }

    private void Resume(string run)
    {
        var resumed = CliProcess.Run([.. Command(run), "--resume", Path.Combine(run, Trainer.LastCheckpoint)]);
        Assert.That(resumed.ExitCode, Is.Zero, resumed.Error);
    }

    private void AssertSameCheckpoints(string run)
    {
        foreach (var name in new[] { Trainer.LastCheckpoint, Trainer.BestCheckpoint })
        {
            Assert.That(Hash(Path.Combine(run, name)), Is.EqualTo(Hash(Path.Combine(reference, name))), name);
        }

        var expected = MetricsLog.Read(Path.Combine(reference, MetricsLog.FileName)).Epochs.Select(e => (e.Epoch, e.TrainLoss, e.TrainAcc, e.TestAcc));
        var actual = MetricsLog.Read(Path.Combine(run, MetricsLog.FileName)).Epochs.Select(e => (e.Epoch, e.TrainLoss, e.TrainAcc, e.TestAcc));
        Assert.That(actual, Is.EqualTo(expected), "the epochs' losses and accuracies");
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
}
