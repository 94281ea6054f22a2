using System.Text;
using System.Text.Json;

namespace Cct.Training.Reports;

/// <summary><c>metrics.jsonl</c>: one JSON object per epoch and line, appended as training goes.</summary>
internal static class MetricsLog
{
    public const string FileName = "metrics.jsonl";

    /// <summary>
    /// Appends one line in a single write, flushed to disk. A crash can at worst leave a torn last line, which
    /// <see cref="Read"/> skips and the next append cuts off first, so the file always stays readable.
    /// A complete last line that merely lacks its newline is kept.
    /// </summary>
    public static void Append(string path, EpochMetrics metrics)
    {
        var line = Encoding.UTF8.GetBytes(Serialize(metrics) + "\n");
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        using var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var complete = CompleteLength(stream);
        if (complete < stream.Length)
        {
            var tail = new byte[stream.Length - complete];
            stream.Seek(complete, SeekOrigin.Begin);
            stream.ReadExactly(tail);
            if (IsEpochLine(tail))
            {
                stream.Seek(0, SeekOrigin.End);
                stream.WriteByte((byte)'\n');
            }
            else
            {
                stream.SetLength(complete);
            }
        }

        stream.Seek(0, SeekOrigin.End);
        stream.Write(line);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Replaces the whole file atomically (e.g. to drop epochs past a checkpoint on resume).</summary>
    public static void Write(string path, IEnumerable<EpochMetrics> epochs)
    {
        var text = new StringBuilder();
        foreach (var epoch in epochs)
        {
            text.Append(Serialize(epoch)).Append('\n');
        }

        AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(text.ToString()));
    }

    /// <summary>Reads every well-formed line; blank lines are ignored and malformed ones (a torn last line) skipped with a warning.</summary>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static MetricsLogContents Read(string path)
    {
        var epochs = new List<EpochMetrics>();
        var warnings = new List<string>();
        var text = File.ReadAllText(path, Encoding.UTF8);
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Trim().Length == 0)
            {
                continue;
            }

            var torn = i == lines.Length - 1 ? " (truncated last line, e.g. after a crash)" : "";
            try
            {
                var epoch = JsonSerializer.Deserialize(line, MetricsJsonContext.Default.EpochMetrics);
                if (epoch is null)
                {
                    warnings.Add($"{path}:{i + 1}: skipped null line{torn}.");
                }
                else
                {
                    epochs.Add(epoch);
                }
            }
            catch (JsonException e)
            {
                warnings.Add($"{path}:{i + 1}: skipped malformed line{torn}: {e.Message}");
            }
        }

        return new MetricsLogContents(epochs, warnings);
    }

    private static bool IsEpochLine(byte[] line)
    {
        try
        {
            return JsonSerializer.Deserialize(line, MetricsJsonContext.Default.EpochMetrics) is not null;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Serialize(EpochMetrics metrics) => JsonSerializer.Serialize(metrics, MetricsJsonContext.Default.EpochMetrics);

    /// <summary>Length up to and including the last newline: whatever follows it is a torn line from an interrupted append.</summary>
    private static long CompleteLength(FileStream stream)
    {
        var buffer = new byte[4096];
        var end = stream.Length;
        while (end > 0)
        {
            var count = (int)Math.Min(buffer.Length, end);
            stream.Seek(end - count, SeekOrigin.Begin);
            stream.ReadExactly(buffer, 0, count);
            var newline = Array.LastIndexOf(buffer, (byte)'\n', count - 1);
            if (newline >= 0)
            {
                return end - count + newline + 1;
            }

            end -= count;
        }

        return 0;
    }
}
