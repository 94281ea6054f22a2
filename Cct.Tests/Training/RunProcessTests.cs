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
/// 6 steps an epoch, 2 epochs, crop and flip on so the augmentation RNG is exercised too. About 50 s on a busy
/// 2-core machine; the reference runs go in parallel because most of a run is its fixed start-up cost.
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

    /// <summary>The reference run, a second run with the same seed and one with seed 4, as three processes at once.</summary>
    [OneTimeSetUp]
    public void TrainTheReferenceRuns()
    {
        root = Path.Combine(Path.GetTempPath(), "cct-process-" + Guid.NewGuid().ToString("N"));
        data = CliRunner.FashionMnistSlice(Path.Combine(root, "data"), 96, 32);
        reference = Path.Combine(root, "reference");
        var runs = new[] { Command(reference), Command(Path.Combine(root, "again")), Command(Path.Combine(root, "seed4"), seed: 4) }
            .Select(command => Task.Run(() => CliProcess.Run(command)))
            .ToArray();
        foreach (var run in runs)
        {
            Assert.That(run.Result.ExitCode, Is.Zero, run.Result.Error);
        }
    }

    [OneTimeTearDown]
    public void DeleteFolder() => Directory.Delete(root, recursive: true);

    [Test]
    public void SameSeedGivesIdenticalCheckpointsAndAnotherSeedDoesNot()
    {
        AssertSameCheckpoints(Path.Combine(root, "again"));

        var a = SafeTensorsFile.Read(Path.Combine(reference, RunFolder.LastCheckpointName));
        var b = SafeTensorsFile.Read(Path.Combine(root, "seed4", RunFolder.LastCheckpointName));
        foreach (var name in new[] { "tokenizer.conv_layers.0.0.weight", "classifier.positional_emb", "classifier.fc.weight" })
        {
            Assert.That(b[name].Data, Is.Not.EqualTo(a[name].Data), name);
        }
    }

    /// <summary>
    /// One run stopped three ways, each time resumed by a new process running the original command with --resume
    /// appended: SIGINT (Ctrl+C) in the middle of epoch 1, which saves the exact batch; SIGKILL in epoch 2, which
    /// saves nothing; SIGKILL inside a checkpoint write, between the fsynced temporary file and the rename. After
    /// each, checkpoint-last is readable and where it should be; at the end both checkpoints equal the reference's
    /// byte for byte, and so do the logged epochs.
    /// </summary>
    [Test]
    public void InterruptedAndKilledRunResumesToIdenticalCheckpoints()
    {
        var run = Path.Combine(root, "stopped");
        var last = Path.Combine(run, RunFolder.LastCheckpointName);
        string[] resume = [.. Command(run), "--resume", last];

        var interrupted = CliProcess.Run(Command(run), fault: "sigint-at-step:2");
        Assert.That(interrupted.ExitCode, Is.EqualTo(130), interrupted.Error);
        Assert.That(interrupted.Out, Does.Contain("interrupted: saved checkpoint-last"));
        var state = Checkpoint.Load(last).State;
        Assert.Multiple(() =>
        {
            Assert.That(state.Epoch, Is.Zero);
            Assert.That(state.BatchInEpoch, Is.InRange(3, StepsPerEpoch - 1), "stopped inside the epoch, after the signal's step");
            Assert.That(state.Step, Is.EqualTo(state.BatchInEpoch));
            Assert.That(state.EpochSums, Is.Not.Null);
        });

        var killed = CliProcess.Run(resume, fault: $"sigkill-at-step:{StepsPerEpoch + 2}");
        Assert.That(killed.ExitCode, Is.EqualTo(128 + 9), "killed by SIGKILL in epoch 2");
        Assert.That(Checkpoint.Load(last).State.Epoch, Is.EqualTo(1));

        // Its first save is epoch 2's checkpoint-best (or -last, had epoch 2 not improved): either way checkpoint-last stays at epoch 1.
        killed = CliProcess.Run(resume, fault: "sigkill-in-save:1");
        Assert.That(killed.ExitCode, Is.EqualTo(128 + 9), "killed by SIGKILL while saving");
        Assert.Multiple(() =>
        {
            Assert.That(Directory.GetFiles(run, ".checkpoint-*.tmp"), Has.Length.EqualTo(1), "the kill came mid-write");
            Assert.That(Checkpoint.Load(last).State.Epoch, Is.EqualTo(1));
            Assert.That(Checkpoint.Load(Path.Combine(run, RunFolder.BestCheckpointName)).State.Epoch, Is.EqualTo(1));
        });

        var finished = CliProcess.Run(resume);
        Assert.That(finished.ExitCode, Is.Zero, finished.Error);
        AssertSameCheckpoints(run);
        Assert.That(Directory.GetFiles(run, ".*.tmp"), Is.Empty, "the killed save's temporary file is cleaned up");
    }

    /// <summary>
    /// SIGTERM (what kill, timeout and docker stop send) stops a run as Ctrl+C does: the step finishes, checkpoint-last
    /// holds the exact batch, the exit code is 143 (128 + 15); without a handler .NET exits at once and the epoch so far is
    /// lost. The resumed run ends with the reference's checkpoints.
    /// </summary>
    [Test]
    public void TerminatedRunSavesItsBatchAndResumesToIdenticalCheckpoints()
    {
        var run = Path.Combine(root, "terminated");
        var last = Path.Combine(run, RunFolder.LastCheckpointName);

        var terminated = CliProcess.Run(Command(run), fault: $"sigterm-at-step:{StepsPerEpoch + 2}");
        Assert.That(terminated.ExitCode, Is.EqualTo(128 + 15), terminated.Error);
        Assert.That(terminated.Out, Does.Contain("interrupted by SIGTERM: saved checkpoint-last"));
        var state = Checkpoint.Load(last).State;
        Assert.Multiple(() =>
        {
            Assert.That(state.Epoch, Is.EqualTo(1), "in epoch 2");
            Assert.That(state.BatchInEpoch, Is.InRange(3, StepsPerEpoch - 1), "stopped inside the epoch, after the signal's step");
        });

        var finished = CliProcess.Run([.. Command(run), "--resume", last]);
        Assert.That(finished.ExitCode, Is.Zero, finished.Error);
        AssertSameCheckpoints(run);
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
        var (code, _, error) = CliRunner.Run([.. Command(output), "--resume", Path.Combine(reference, RunFolder.LastCheckpointName), option, value]);
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
        var last = Path.Combine(run, RunFolder.LastCheckpointName);
        var source = SafeTensorsFile.Read(Path.Combine(reference, RunFolder.LastCheckpointName));
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
            Assert.That(File.Exists(Path.Combine(run, RunFolder.BestCheckpointName)), Is.False);
        });
    }

    private void AssertSameCheckpoints(string run)
    {
        foreach (var name in new[] { RunFolder.LastCheckpointName, RunFolder.BestCheckpointName })
        {
            Assert.That(Hash(Path.Combine(run, name)), Is.EqualTo(Hash(Path.Combine(reference, name))), name);
        }

        var expected = MetricsLog.Read(Path.Combine(reference, MetricsLog.FileName)).Epochs.Select(e => (e.Epoch, e.TrainLoss, e.TrainAcc, e.TestAcc));
        var actual = MetricsLog.Read(Path.Combine(run, MetricsLog.FileName)).Epochs.Select(e => (e.Epoch, e.TrainLoss, e.TrainAcc, e.TestAcc));
        Assert.That(actual, Is.EqualTo(expected), "the epochs' losses and accuracies");
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
}
