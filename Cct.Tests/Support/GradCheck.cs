namespace Cct.Tests.Support;

/// <summary>
/// Central differences in double precision: d f / d x_i ≈ (f(x + h e_i) − f(x − h e_i)) / 2h.
/// With h = 1e-6 the truncation error is O(h²) and cancellation O(1e-16 / h), both far below the
/// fp32 kernel error the checks tolerate.
/// </summary>
public static class GradCheck
{
    public const double Step = 1e-6;

    public static double[] Numerical(Func<double[], double> f, double[] x, double step = Step)
    {
        var gradient = new double[x.Length];
        var probe = (double[])x.Clone();
        for (var i = 0; i < x.Length; i++)
        {
            probe[i] = x[i] + step;
            var plus = f(probe);
            probe[i] = x[i] - step;
            var minus = f(probe);
            probe[i] = x[i];
            gradient[i] = (plus - minus) / (2 * step);
        }

        return gradient;
    }

    /// <summary>Σ output·weights: the scalar whose gradient w.r.t. the inputs is what backward computes for dout = weights.</summary>
    public static double Dot(double[] output, double[] weights)
    {
        double sum = 0;
        for (var i = 0; i < output.Length; i++)
        {
            sum += output[i] * weights[i];
        }

        return sum;
    }

    public static double[] RandomDoubles(int seed, int count, double scale = 1.0)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Math.Round(((random.NextDouble() * 2) - 1) * scale, 3)).ToArray();
    }

    public static float[] ToFloats(this double[] values) => values.Select(v => (float)v).ToArray();

    public static double[] ToDoubles(this float[] values) => values.Select(v => (double)v).ToArray();
}
