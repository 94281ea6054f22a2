namespace Cct.Training.Data;

/// <summary>
/// A user-facing data problem (missing, malformed or undownloadable files). The message is one
/// complete line naming the file, meant to be printed as is, without a stack trace.
/// </summary>
public sealed class DatasetException : Exception
{
    /// <summary>An exception with a one-line <paramref name="message"/>.</summary>
    public DatasetException(string message)
        : base(message)
    {
    }

    /// <summary>An exception with the default message.</summary>
    public DatasetException()
    {
    }

    /// <summary>An exception with a one-line <paramref name="message"/> and its cause.</summary>
    public DatasetException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
