using System.Reflection;
using System.Runtime.InteropServices;
using ILGPU;

namespace Cct.Gpu.Runtime;

/// <summary>
/// ILGPU P/Invokes "cuda" and "OpenCL", so .NET probes libcuda.so / libOpenCL.so; driver packages ship
/// only the versioned .so.1 names. This resolver maps the bare names onto what is installed, for ILGPU and for
/// Cct.Gpu's own graph calls (<see cref="CudaGraphApi"/>).
/// </summary>
internal static class NativeLibraries
{
    private static int registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref registered, 1) == 1)
        {
            return;
        }

        NativeLibrary.SetDllImportResolver(typeof(Context).Assembly, Resolve);
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        string[] candidates = name switch
        {
            "cuda" or "nvcuda" => ["libcuda.so.1", "libcuda.so", "nvcuda.dll"],
            "OpenCL" => ["libOpenCL.so.1", "libOpenCL.so", "OpenCL.dll"],
            _ => [],
        };
        foreach (var candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, assembly, searchPath, out var handle))
            {
                return handle;
            }
        }

        return IntPtr.Zero;
    }
}
