using Cct.Training.Data;

namespace Cct.Cli;

/// <summary>Loads a dataset for a command (--data, else the search order, else a download), showing download progress on stderr.</summary>
internal static class ConsoleData
{
    public static TrainingData Load(DatasetSpec spec, string? directory)
    {
        var lastShown = -1;
        return TrainingData.Load(spec, directory, p =>
        {
            var percent = p.TotalBytes is > 0 ? (int)(100 * p.BytesReceived / p.TotalBytes.Value) : -1;
            if (percent != lastShown && (percent % 10 == 0 || !Console.IsErrorRedirected))
            {
                lastShown = percent;
                Console.Error.Write($"\rdownloading {p.FileName} ({p.FileIndex + 1}/{p.FileCount}) {(percent >= 0 ? $"{percent}%" : $"{p.BytesReceived / 1024} KiB")}   ");
            }
        });
    }
}
