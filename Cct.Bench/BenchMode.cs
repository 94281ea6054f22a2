using System.Globalization;
using Cct.Gpu.Runtime;

namespace Cct.Bench;

internal enum BenchMode
{
    Kernels,
    CpuShapes,
}
