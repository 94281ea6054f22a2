namespace Cct.Bench;

/// <summary>A result that failed its host check.</summary>
internal sealed class ValidationException(string message) : Exception(message);
