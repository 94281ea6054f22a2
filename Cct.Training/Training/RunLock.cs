namespace Cct.Training.Training;

/// <summary>
/// One writer per run folder: ".cct-train.lock" in it, held open with FileShare.None for the run's lifetime.
/// On Linux and macOS .NET takes that as an exclusive flock, which the kernel drops when the process ends however
/// it ends, so a killed run never leaves the folder locked; the empty file itself stays and means nothing.
/// (DOTNET_SYSTEM_IO_DISABLEFILELOCKING=1 would disable it.)
/// </summary>
internal sealed class RunLock : IDisposable
{
    public const string FileName = ".cct-train.lock";

    private readonly FileStream stream;

    private RunLock(FileStream stream) => this.stream = stream;

    /// <summary>Takes the lock of <paramref name="folder"/> (created if needed) or throws <see cref="RunFolderBusyException"/>.</summary>
    public static RunLock Acquire(string folder)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, FileName);
        try
        {
            return new RunLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException e)
        {
            throw new RunFolderBusyException($"{folder} is in use by another cct train (cannot lock {FileName}: {e.Message.TrimEnd('.')}); wait for it to finish or choose another --out", e);
        }
    }

    public void Dispose() => stream.Dispose();
}
