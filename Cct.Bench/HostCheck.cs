using Cct.Gpu.Gemm;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Bench;

/// <summary>
/// Checks a kernel's output on a sample of elements against double-precision host math, so that
/// even GPU-sized cases validate in milliseconds. The bound 1e-6 + 1e-4·Σ|terms| is far above fp32
/// summation error (~√K·6e-8·Σ|terms|) and far below what a wrong index or coefficient gives.
/// </summary>
internal static class HostCheck
{
    private const int SampleCount = 256;

    public static float[] Random(int seed, long count, float scale = 1f)
    {
        var random = new Random(seed);
        var data = new float[count];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = ((random.NextSingle() * 2) - 1) * scale;
        }

        return data;
    }

    public static float[] Read(MemoryBuffer1D<float, Stride1D.Dense> buffer)
    {
        var data = new float[buffer.Length];
        buffer.View.CopyToCPU(data);
        return data;
    }

    /// <summary>Largest absolute error over a deterministic sample (always including the first and last element).</summary>
    public static double MaxError(string what, float[] actual, Func<long, Reference> expected)
    {
        var random = new Random(actual.Length);
        var indices = Enumerable.Range(0, SampleCount).Select(_ => random.NextInt64(actual.Length)).Append(0).Append(actual.Length - 1);
        double worst = 0;
        foreach (var i in indices)
        {
            var reference = expected(i);
            var error = Math.Abs(actual[i] - reference.Value);
            if (!(error <= 1e-6 + (1e-4 * reference.Scale)))
            {
                throw new ValidationException($"{what}[{i}] is {actual[i]}, host reference {reference.Value}");
            }

            worst = Math.Max(worst, error);
        }

        return worst;
    }

    /// <summary>Element (m, n) of op(a) · op(b) for the row-major operands <see cref="GemmShape"/> describes, without bias.</summary>
    public static Reference Gemm(float[] a, float[] b, GemmShape s, long m, long n)
    {
        double sum = 0, scale = 0;
        for (var k = 0L; k < s.K; k++)
        {
            var x = s.TransposeA != 0 ? a[(k * s.M) + m] : a[(m * s.K) + k];
            var y = s.TransposeB != 0 ? b[(n * s.K) + k] : b[(k * s.N) + n];
            sum += (double)x * y;
            scale += Math.Abs((double)x * y);
        }

        return new Reference(sum, scale);
    }

    public static double Max(params double[] errors) => errors.Max();
}
