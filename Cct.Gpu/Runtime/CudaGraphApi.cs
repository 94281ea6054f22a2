using System.Runtime.InteropServices;

namespace Cct.Gpu.Runtime;

/// <summary>
/// The CUDA driver's stream-capture and graph calls, which ILGPU 1.5.3 does not wrap. "cuda" resolves to libcuda.so.1
/// or nvcuda.dll (<see cref="NativeLibraries"/>); every call returns a CUresult, 0 for success.
/// </summary>
internal static partial class CudaGraphApi
{
    /// <summary>
    /// CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: a call this thread may not make while capturing (an allocation, a synchronise)
    /// fails instead of running, so a step that is not steady cannot be captured by accident.
    /// </summary>
    public const int CaptureThreadLocal = 1;

    [LibraryImport("cuda", EntryPoint = "cuStreamBeginCapture_v2")]
    public static partial int BeginCapture(IntPtr stream, int mode);

    [LibraryImport("cuda", EntryPoint = "cuStreamEndCapture")]
    public static partial int EndCapture(IntPtr stream, out IntPtr graph);

    [LibraryImport("cuda", EntryPoint = "cuGraphInstantiateWithFlags")]
    public static partial int Instantiate(out IntPtr executable, IntPtr graph, ulong flags);

    [LibraryImport("cuda", EntryPoint = "cuGraphLaunch")]
    public static partial int Launch(IntPtr executable, IntPtr stream);

    [LibraryImport("cuda", EntryPoint = "cuGraphDestroy")]
    public static partial int DestroyGraph(IntPtr graph);

    [LibraryImport("cuda", EntryPoint = "cuGraphExecDestroy")]
    public static partial int DestroyExecutable(IntPtr executable);

    [LibraryImport("cuda", EntryPoint = "cuGetErrorName")]
    private static partial int ErrorName(int result, out IntPtr name);

    /// <summary>The driver's name for <paramref name="result"/> (CUDA_ERROR_…).</summary>
    public static string Describe(int result)
        => ErrorName(result, out var name) == 0 && name != IntPtr.Zero ? Marshal.PtrToStringAnsi(name) ?? $"CUresult {result}" : $"CUresult {result}";
}
