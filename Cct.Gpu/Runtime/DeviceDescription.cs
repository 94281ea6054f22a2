using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Linq.Expressions;
using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Cct.Gpu.Runtime;

/// <summary>One device a user can pick, as reported by <see cref="ComputeDevice.List"/>.</summary>
public sealed record DeviceDescription(AcceleratorKind Kind, string Name, long MemoryBytes, int MaxGroupSize);
