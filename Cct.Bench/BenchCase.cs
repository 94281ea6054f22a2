using Cct.Gpu.Runtime;

namespace Cct.Bench;

/// <summary>
/// One kernel benchmark: its name, the sizes it runs, the work one run does (FLOPs for compute-bound
/// kernels, bytes moved for memory-bound ones), and how to set it up on a device.
/// <paramref name="AppliesTo"/> skips cases that do not suit a device (e.g. barrier kernels on the CPU).
/// </summary>
internal sealed record BenchCase(string Name, string Shape, double Flops, double Bytes, Func<ComputeDevice, PreparedCase> Prepare, Func<ComputeDevice, bool>? AppliesTo = null);

/// <summary>
/// A case set up on one device: buffers allocated and filled. <see cref="Validate"/> runs the kernel
/// once and returns its largest error against a host computation (throwing if it is out of bounds);
