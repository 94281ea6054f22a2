namespace Cct.CommandLine;

/// <summary>A user error: printed as one line on stderr, exit code 2, never a stack trace.</summary>
internal sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException()
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
