using ILGPU;
using ILGPU.Runtime;

namespace Cct.Gpu.Runtime;

/// <summary>
/// An exponential moving average of a flat buffer, one elementwise kernel: average += rate·(values − average).
/// Written as a step towards the values rather than decay·average + (1 − decay)·values, so an element that does not
/// change (a fixed sine embedding) stays bit-exact instead of drifting by rounding.
/// </summary>
internal sealed class WeightAverage
{
    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>, float> update;

    private WeightAverage(ComputeDevice device)
    {
        this.device = device;
        update = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, float>(UpdateKernel);
    }

    public static WeightAverage For(ComputeDevice device) => device.Kernels(static d => new WeightAverage(d));

    /// <summary>average (N) += <paramref name="rate"/>·(values (N) − average), in place; rate is 1 − decay.</summary>
    public void Update(ArrayView<float> average, ArrayView<float> values, float rate)
    {
        using var profile = device.Time("WeightAverage.Update");
        if (average.Length != values.Length)
        {
            throw new ArgumentException($"the average has {average.Length} elements, the values {values.Length}");
        }

        var threads = device.Threads(checked((int)average.Length));
        if (threads > 0)
        {
            update(threads, threads, average, values, rate);
        }
    }

    // Grid-stride over the elements (ComputeDevice.Threads); a long counter, as index + stride can pass int.MaxValue on a GPU.
    private static void UpdateKernel(Index1D index, int stride, ArrayView<float> average, ArrayView<float> values, float rate)
    {
        for (long i = index; i < average.Length; i += stride)
        {
            var a = average[i];
            average[i] = a + (rate * (values[i] - a));
        }
    }
}
