namespace Cct.Tests.Support;

public static class DeviceExtensions
{
    /// <summary>Copies the first <paramref name="length"/> elements (default: all) to the host.</summary>
    public static float[] Read(this MemoryBuffer1D<float, Stride1D.Dense> buffer, long length = -1)
    {
        var result = new float[length < 0 ? buffer.Length : length];
        buffer.View.SubView(0, result.Length).CopyToCPU(result);
        return result;
    }

    public static int[] Read(this MemoryBuffer1D<int, Stride1D.Dense> buffer, long length = -1)
    {
        var result = new int[length < 0 ? buffer.Length : length];
        buffer.View.SubView(0, result.Length).CopyToCPU(result);
        return result;
    }
}
