namespace Cct.Training.Checkpoints;

/// <summary>A checkpoint that cannot be used: truncated, malformed, or not a Cct checkpoint.</summary>
public sealed class CheckpointException : Exception
{
    /// <summary>An exception with a one-line <paramref name="message"/>.</summary>
    public CheckpointException(string message)
        : base(message)
    {
    }

    /// <summary>An exception with the default message.</summary>
    public CheckpointException()
    {
    }

    /// <summary>An exception with a one-line <paramref name="message"/> and its cause.</summary>
    public CheckpointException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
