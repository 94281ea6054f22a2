using System.Diagnostics;
using System.Globalization;
using Cct.Training.Reports;
using Cct.Training.Training;

namespace Cct.Cli;

/// <summary>
/// A tqdm-like bar redrawn in place when stdout is a terminal; plain lines (about one per 10 % of an
/// epoch) when it is redirected, so logs stay readable.
/// </summary>
internal sealed class ConsoleProgress : IProgress<TrainingProgress>
{
    private readonly bool interactive = !Console.IsOutputRedirected;
    private readonly Stopwatch clock = new();
    private int lastDecile = -1;
    private int epochShown = -1;
    private int firstBatch;

    public void Report(TrainingProgress value)
    {
        if (value.CompletedEpoch is { } metrics)
        {
            EpochCompleted(metrics, value.Improved);
        }
        else
        {
            Update(value.Epoch, value.Epochs, value.Batch, value.Batches, value.Loss, value.Accuracy, value.ImagesPerSecond);
        }
    }

    private void Update(int epoch, int epochs, int batch, int batches, double loss, double accuracy, double imagesPerSecond)
    {
        if (epoch != epochShown)
        {
            epochShown = epoch;
            firstBatch = batch - 1;
            clock.Restart();
        }

        var fraction = (double)batch / batches;
        var perBatch = clock.Elapsed.TotalSeconds / Math.Max(1, batch - firstBatch);
        var eta = TimeSpan.FromSeconds(Math.Round(perBatch * (batches - batch)));
        var text = string.Create(CultureInfo.InvariantCulture, $"epoch {epoch}/{epochs} {Bar(fraction)} {batch}/{batches} loss {loss:F4} acc {accuracy * 100:F1}% {imagesPerSecond:F0} img/s ETA {eta:c}");
        if (interactive)
        {
            Console.Write($"\r{text}  ");
            if (batch == batches)
            {
                Console.WriteLine();
            }

            return;
        }

        var decile = (int)(fraction * 10);
        if (decile != lastDecile || batch == batches)
        {
            lastDecile = decile;
            Console.WriteLine(text);
        }
    }

    private void EpochCompleted(EpochMetrics metrics, bool improved)
    {
        lastDecile = -1;
        var val = metrics.ValLoss is { } vl ? string.Create(CultureInfo.InvariantCulture, $" val_loss {vl:F4} val_acc {metrics.ValAcc * 100:F2}%") : string.Empty;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {metrics.Epoch}: train_loss {metrics.TrainLoss:F4} train_acc {metrics.TrainAcc * 100:F2}%{val} test_acc {metrics.TestAcc * 100:F2}% lr {metrics.LearningRate:G3} {metrics.ImagesPerSecond:F0} img/s {metrics.Seconds:F1}s{(improved ? " *best*" : string.Empty)}"));
    }

    private static string Bar(double fraction)
    {
        const int width = 24;
        var filled = (int)Math.Round(fraction * width);
        return "[" + new string('#', filled) + new string('.', width - filled) + "]";
    }
}
