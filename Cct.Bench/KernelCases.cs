using Cct.Gpu.Gemm;
using Cct.Gpu.Layers;
using Cct.Gpu.Optimizer;
using Cct.Gpu.Runtime;
using ILGPU.Runtime;

namespace Cct.Bench;

/// <summary>The benchmarked kernels. A new layer is one more line in <see cref="For"/> plus a factory below.</summary>
internal static class KernelCases
{
    public static IReadOnlyList<BenchCase> For(BenchSize size)
    {
        // CCT-7/3x1: batch 128 of 196 tokens, embedding 256, MLP 512, ~3.7M parameters.
        // Small: a few seconds in all on the CPU simulator (~0.1 GFLOP/s on 2 shared cores).
        var (rows, dim, hidden, parameters) = size == BenchSize.Cct ? (128 * 196, 256, 512, 3_700_000) : (64, 128, 256, 1 << 16);
        return
        [
            MatMulCase("matmul.simple", rows, 3 * dim, dim, tiled: false),
            MatMulCase("matmul.tiled", rows, 3 * dim, dim, tiled: true),
            LinearForwardCase(rows, dim, hidden),
            LinearBackwardCase(rows, dim, hidden),
            AdamWCase(parameters),
        ];
    }

    /// <summary>c (M, N) = a (M, K) · b (N, K)ᵀ, the attention QKV projection's product. Tiled runs only off the CPU, where barriers are cheap.</summary>
    private static BenchCase MatMulCase(string name, int m, int n, int k, bool tiled) => new(
        name,
        $"{m}x{n}x{k}",
        2.0 * m * n * k,
        0,
        device =>
        {
            var a = HostCheck.Random(1, (long)m * k);
            var b = HostCheck.Random(2, (long)n * k);
            var shape = new GemmShape(m, n, k, 0, 1, 0, 0);
            var ab = device.Upload(a);
            var bb = device.Upload(b);
            var cb = device.Allocate((long)m * n);
            var matMul = MatMul.For(device);
            void Run()
            {
                if (tiled)
                {
                    matMul.RunTiled(cb.View, ab.View, bb.View, bb.View, shape);
                }
                else
                {
                    matMul.RunSimple(cb.View, ab.View, bb.View, bb.View, shape);
                }
            }

            double Validate()
            {
                Run();
                device.Synchronize();
                return HostCheck.MaxError(name, HostCheck.Read(cb), i => HostCheck.Gemm(a, b, shape, i / n, i % n));
            }

            return new PreparedCase(Run, Validate, ab, bb, cb);
        },
        tiled ? static d => d.Profile.Kernels == KernelFamily.Grouped : null);

    private static BenchCase LinearForwardCase(int rows, int inFeatures, int outFeatures) => new(
        "linear.forward",
        $"{rows}x{inFeatures}->{outFeatures}",
        2.0 * rows * inFeatures * outFeatures,
        0,
        device =>
        {
            var x = HostCheck.Random(3, (long)rows * inFeatures);
            var w = HostCheck.Random(4, (long)outFeatures * inFeatures, 0.1f);
            var b = HostCheck.Random(5, outFeatures);
            var xb = device.Upload(x);
            var wb = device.Upload(w);
            var bb = device.Upload(b);
            var yb = device.Allocate((long)rows * outFeatures);
            var linear = Linear.For(device);
            void Run() => linear.Forward(yb.View, xb.View, new WeightAndBias(wb.View, bb.View), true, rows, inFeatures, outFeatures);
            double Validate()
            {
                Run();
                device.Synchronize();
                var product = new GemmShape(rows, outFeatures, inFeatures, 0, 1, 0, 0);
                return HostCheck.MaxError("linear.forward.out", HostCheck.Read(yb), i =>
                {
                    var r = HostCheck.Gemm(x, w, product, i / outFeatures, i % outFeatures);
                    var bias = b[i % outFeatures];
                    return new Reference(r.Value + bias, r.Scale + Math.Abs(bias));
                });
            }

            return new PreparedCase(Run, Validate, xb, wb, bb, yb);
        });

    private static BenchCase LinearBackwardCase(int rows, int inFeatures, int outFeatures) => new(
        "linear.backward",
        $"{rows}x{inFeatures}->{outFeatures}",
        (4.0 * rows * inFeatures * outFeatures) + ((double)rows * outFeatures),
        0,
        device =>
        {
            var x = HostCheck.Random(6, (long)rows * inFeatures);
            var w = HostCheck.Random(7, (long)outFeatures * inFeatures, 0.1f);
            var dy = HostCheck.Random(8, (long)rows * outFeatures);
            var ones = Enumerable.Repeat(1f, rows).ToArray();
            var xb = device.Upload(x);
            var wb = device.Upload(w);
            var dyb = device.Upload(dy);
            var dxb = device.Allocate((long)rows * inFeatures);
            var dwb = device.Allocate((long)outFeatures * inFeatures);
            var dbb = device.Allocate(outFeatures);
            var linear = Linear.For(device);
            void Run() => linear.Backward(dxb.View, new WeightAndBiasGradients(dwb.View, dbb.View), dyb.View, xb.View, wb.View, true, rows, inFeatures, outFeatures);
            double Validate()
            {
                // Backward accumulates, so start the checked run from zero.
                dxb.MemSetToZero();
                dwb.MemSetToZero();
                dbb.MemSetToZero();
                Run();
                device.Synchronize();
                var dInput = new GemmShape(rows, inFeatures, outFeatures, 0, 0, 0, 0);
                var dWeight = new GemmShape(outFeatures, inFeatures, rows, 1, 0, 0, 0);
                var dBias = new GemmShape(1, outFeatures, rows, 0, 0, 0, 0);
                return HostCheck.Max(
                    HostCheck.MaxError("linear.backward.dinput", HostCheck.Read(dxb), i => HostCheck.Gemm(dy, w, dInput, i / inFeatures, i % inFeatures)),
                    HostCheck.MaxError("linear.backward.dweight", HostCheck.Read(dwb), i => HostCheck.Gemm(dy, x, dWeight, i / inFeatures, i % inFeatures)),
                    HostCheck.MaxError("linear.backward.dbias", HostCheck.Read(dbb), i => HostCheck.Gemm(ones, dy, dBias, 0, i)));
            }

            return new PreparedCase(Run, Validate, xb, wb, dyb, dxb, dwb, dbb);
        });

    /// <summary>Reads parameters, both moments and gradients, writes parameters and moments: 28 bytes per element.</summary>
    private static BenchCase AdamWCase(int n) => new(
        "adamw.step",
        $"{n}",
        0,
        28.0 * n,
        device =>
        {
            var settings = new AdamWSettings(1e-3f, 0.9f, 0.999f, 1e-8f, 0.05f);
            var p = HostCheck.Random(9, n);
            var m = HostCheck.Random(10, n, 0.01f);
            var v = HostCheck.Random(11, n, 1e-4f).Select(Math.Abs).ToArray();
            var g = HostCheck.Random(12, n);
            var pb = device.Upload(p);
            var mb = device.Upload(m);
            var vb = device.Upload(v);
            var gb = device.Upload(g);
            var adamW = AdamW.For(device);
            void Run() => adamW.Step(pb.View, mb.View, vb.View, gb.View, settings, 3);
            double Validate()
            {
                Run();
                device.Synchronize();
                Reference M(long i) => new((settings.Beta1 * (double)m[i]) + ((1 - (double)settings.Beta1) * g[i]), Math.Abs(m[i]) + Math.Abs(g[i]));
                Reference V(long i) => new((settings.Beta2 * (double)v[i]) + ((1 - (double)settings.Beta2) * g[i] * g[i]), v[i] + (g[i] * g[i]));
                Reference P(long i)
                {
                    var mHat = M(i).Value / (1 - Math.Pow(settings.Beta1, 3));
                    var vHat = V(i).Value / (1 - Math.Pow(settings.Beta2, 3));
                    var value = (p[i] * (1 - ((double)settings.LearningRate * settings.WeightDecay))) - (settings.LearningRate * mHat / (Math.Sqrt(vHat) + settings.Epsilon));
                    return new Reference(value, Math.Abs(value));
                }

                return HostCheck.Max(
                    HostCheck.MaxError("adamw.params", HostCheck.Read(pb), P),
                    HostCheck.MaxError("adamw.exp_avg", HostCheck.Read(mb), M),
                    HostCheck.MaxError("adamw.exp_avg_sq", HostCheck.Read(vb), V));
            }

            return new PreparedCase(Run, Validate, pb, mb, vb, gb);
        });
}
