namespace Cct.Training.Check;

/// <summary>
/// A registry case the bench times: <see cref="Case"/> is replayed and timed; <see cref="Check"/>, the same
/// factory at a batch the CPU reference runs in seconds (or <see cref="Case"/> itself), is compared first.
/// <see cref="Flops"/> is the work of one replay for compute-bound cases and <see cref="Bytes"/> what it moves for
/// memory-bound ones (0 where the figure would mislead).
/// </summary>
internal sealed record TimedKernelCase(KernelCase Case, KernelCase Check, double Flops, double Bytes);
