namespace Cct.Training.Data;

/// <summary>
/// A user-facing data problem (missing, malformed or undownloadable files). The message is one
/// complete line naming the file, meant to be printed as is, without a stack trace.
/// </summary>
public sealed class DatasetException : Exception
{
    public DatasetException(string message)
        : base(message)
    {
    }

    public DatasetException()
    {
    }

    public DatasetException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
