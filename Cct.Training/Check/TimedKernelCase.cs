namespace Cct.Training.Check;

/// <summary>
/// A registry case the bench times, with the work one replay of its launches does: <see cref="Flops"/> for
/// compute-bound cases and <see cref="Bytes"/> moved for memory-bound ones (0 where the figure would mislead).
/// </summary>
internal sealed record TimedKernelCase(KernelCase Case, double Flops, double Bytes);
