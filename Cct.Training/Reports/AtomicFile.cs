namespace Cct.Training.Reports;

/// <summary>
/// Whole-file writes that a crash can never leave half done: a temporary file beside the target, fsynced,
/// renamed over it, then the folder fsynced so the rename itself is durable. A reader sees the old file or
/// the new one, never a mix; a killed writer leaves at most a hidden ".NAME.PID.GUID.tmp" that nothing reads.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/>, replacing it whole or not at all.</summary>
    /// <exception cref="IOException">the file or its folder cannot be written</exception>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes) => WriteAllBytes(path, bytes, beforeRename: null);

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/>; <paramref name="beforeRename"/> runs between the fsync and the rename (a test fault hook).</summary>
    internal static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes, Action? beforeRename)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(directory);
        // Same folder so the rename stays on one file system; process id and a GUID keep concurrent writers apart.
        var temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            beforeRename?.Invoke();
            File.Move(temporary, full, overwrite: true);
            Posix.FlushDirectory(directory);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }
}
