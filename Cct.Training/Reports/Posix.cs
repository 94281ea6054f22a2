using System.Runtime.InteropServices;

namespace Cct.Training.Reports;

/// <summary>The POSIX calls .NET does not expose: fsync of a directory, and a signal to this process.</summary>
internal static partial class Posix
{
    private const int ReadOnly = 0;

    /// <summary>SIGINT, the signal Ctrl+C sends.</summary>
    public const int Interrupt = 2;

    /// <summary>SIGTERM, what `kill`, `timeout`, `docker stop` and systemd send to stop a process.</summary>
    public const int Terminate = 15;

    /// <summary>SIGKILL, which no handler sees.</summary>
    public const int Kill = 9;

    /// <summary>
    /// Flushes a directory's entries to disk, so a rename inside it survives a power cut. A no-op on
    /// Windows, where NTFS journals renames; failures are ignored because the data itself is already safe.
    /// </summary>
    public static void FlushDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var descriptor = Open(directory, ReadOnly);
        if (descriptor >= 0)
        {
            _ = Fsync(descriptor);
            _ = Close(descriptor);
        }
    }

    /// <summary>Sends <paramref name="signal"/> to this process.</summary>
    public static void SignalSelf(int signal) => _ = SendSignal(Environment.ProcessId, signal);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int descriptor);

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SendSignal(int pid, int signal);
}
