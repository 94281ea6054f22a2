namespace Cct.Gpu.Runtime;

/// <summary>The requested accelerator is not present on this machine.</summary>
public sealed class AcceleratorUnavailableException : Exception
{
    /// <summary>An exception with a one-line <paramref name="message"/>.</summary>
    public AcceleratorUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>An exception with the default message.</summary>
    public AcceleratorUnavailableException()
    {
    }

    /// <summary>An exception with a one-line <paramref name="message"/> and its cause.</summary>
    public AcceleratorUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
