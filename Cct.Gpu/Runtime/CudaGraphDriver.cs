using ILGPU.Runtime.Cuda;

namespace Cct.Gpu.Runtime;

/// <summary>The CUDA driver's capture and graph calls (<see cref="CudaGraphApi"/>) on <paramref name="stream"/>.</summary>
internal sealed class CudaGraphDriver(CudaStream stream) : IGraphDriver
{
    public int BeginCapture() => CudaGraphApi.BeginCapture(stream.StreamPtr, CudaGraphApi.CaptureThreadLocal);

    public int EndCapture(out IntPtr graph) => CudaGraphApi.EndCapture(stream.StreamPtr, out graph);

    public int Instantiate(out IntPtr executable, IntPtr graph) => CudaGraphApi.Instantiate(out executable, graph, 0);

    public int Launch(IntPtr executable) => CudaGraphApi.Launch(executable, stream.StreamPtr);

    public void DestroyGraph(IntPtr graph) => _ = CudaGraphApi.DestroyGraph(graph);

    public void DestroyExecutable(IntPtr executable) => _ = CudaGraphApi.DestroyExecutable(executable);

    public string Describe(int result) => CudaGraphApi.Describe(result);

    // ILGPU throws CudaException when a call it makes (a synchronise, an allocation) is refused during capture.
    public bool IsRefusal(Exception exception) => exception is CudaException;
}
