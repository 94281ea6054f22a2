namespace Cct.Training.Check;

/// <summary>
/// One entry of the kernel registry (<see cref="KernelCases"/>): a kernel run that <c>cct check</c> repeats on two
/// devices and Cct.Bench times. <see cref="Run"/> builds its inputs from fixed seeds, so both devices see the same
/// numbers, launches every kernel call through <see cref="DeviceScope.Launch"/> (so the bench can replay them
/// without the uploads) and returns every output it wrote. <see cref="Layer"/> is the class whose kernels it runs,
/// which ties the registry to <c>KernelCatalog</c>: a class that loads a kernel has a case or a written reason.
/// </summary>
internal sealed record KernelCase(string Name, Type Layer, Func<DeviceScope, IReadOnlyList<CheckOutput>> Run);
