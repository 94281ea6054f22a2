namespace Cct.Training.Check;

/// <summary>
/// A kernel run that <see cref="DeviceCheck"/> repeats on two devices: the delegate builds its inputs
/// from fixed seeds, so both runs see the same numbers, and returns every output it wrote.
/// </summary>
internal sealed record KernelCase(string Name, Func<DeviceScope, IReadOnlyList<CheckOutput>> Run);
