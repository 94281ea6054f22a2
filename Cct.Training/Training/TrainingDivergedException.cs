namespace Cct.Training.Training;

/// <summary>Training stopped because the loss became NaN or infinite.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>An exception with a one-line <paramref name="message"/>.</summary>
    public TrainingDivergedException(string message)
        : base(message)
    {
    }

    /// <summary>An exception with the default message.</summary>
    public TrainingDivergedException()
    {
    }

    /// <summary>An exception with a one-line <paramref name="message"/> and its cause.</summary>
    public TrainingDivergedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
