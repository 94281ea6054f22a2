namespace Cct.Training.Training;

/// <summary>A run folder that another live run (another process's <see cref="RunFolder"/>) is writing: this run must not write there too.</summary>
public sealed class RunFolderBusyException : Exception
{
    /// <summary>An exception with a one-line <paramref name="message"/>.</summary>
    public RunFolderBusyException(string message)
        : base(message)
    {
    }

    /// <summary>An exception with the default message.</summary>
    public RunFolderBusyException()
    {
    }

    /// <summary>An exception with a one-line <paramref name="message"/> and its cause.</summary>
    public RunFolderBusyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
