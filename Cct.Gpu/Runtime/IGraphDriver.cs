namespace Cct.Gpu.Runtime;

/// <summary>
/// The stream-capture and graph calls <see cref="GraphReplay"/> makes, on one stream; each returns a CUresult (0 for
/// success). <see cref="CudaGraphDriver"/> is the CUDA driver's; the tests drive the replay policy with their own.
/// </summary>
internal interface IGraphDriver
{
    int BeginCapture();

    int EndCapture(out IntPtr graph);

    int Instantiate(out IntPtr executable, IntPtr graph);

    int Launch(IntPtr executable);

    void DestroyGraph(IntPtr graph);

    void DestroyExecutable(IntPtr executable);

    /// <summary>The name of <paramref name="result"/> for a message.</summary>
    string Describe(int result);

    /// <summary>Whether <paramref name="exception"/>, thrown while capturing, is the driver refusing a call during capture.</summary>
    bool IsRefusal(Exception exception);
}
