using Cct.Gpu.Layers;
using Cct.Tests.Support;

namespace Cct.Tests.Layers;

/// <summary>
/// The GPU GEMM (64x64 tiles, 4x4 outputs per thread, optional split of K) on the simulator shaped for
/// 16x16 groups, against a double-precision host product. Shapes are not multiples of the tile or of
/// the K step, so every guard and the partial last tile are exercised; each split count is forced.
/// Bound 1e-5 + 1e-4·|ref| (fp32 sums of ≤ 150 products of values in [−1, 1]).
/// </summary>
public sealed class MatMulTests
{
    private static readonly object[] Cases =
    [
        new object[] { 70, 45, 150, 0, 0, 1 },
        new object[] { 70, 45, 150, 0, 1, 1 },
        new object[] { 70, 45, 150, 1, 0, 3 },
        new object[] { 70, 45, 150, 1, 1, 3 },
        new object[] { 3, 130, 37, 0, 1, 2 },
    ];

    [TestCaseSource(nameof(Cases))]
    public void BlockedKernelMatchesHostProduct(int m, int n, int k, int transposeA, int transposeB, int splits)
    {
        var device = TestDevices.TiledCpu;
        var a = GradCheck.RandomDoubles(11, m * k);
        var b = GradCheck.RandomDoubles(12, k * n);
        var bias = GradCheck.RandomDoubles(13, n);
        var initial = GradCheck.RandomDoubles(14, m * n);
        var shape = new GemmShape(m, n, k, transposeA, transposeB, Accumulate: 1, HasBias: 1);
        using var ab = device.Upload(a.ToFloats());
        using var bb = device.Upload(b.ToFloats());
        using var biasBuffer = device.Upload(bias.ToFloats());
        using var c = device.Upload(initial.ToFloats());

        MatMul.For(device).RunTiled(c.View, ab.View, bb.View, biasBuffer.View, shape, splits);

        var expected = new double[m * n];
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var sum = initial[(i * n) + j] + bias[j];
                for (var p = 0; p < k; p++)
                {
                    sum += (transposeA != 0 ? a[(p * m) + i] : a[(i * k) + p]) * (transposeB != 0 ? b[(j * k) + p] : b[(p * n) + j]);
                }

                expected[(i * n) + j] = sum;
            }
        }

        Compare.AssertClose(c.Read().ToDoubles(), expected, $"matmul.blocked.{m}x{n}x{k}.t{transposeA}{transposeB}.s{splits}");
    }

    /// <summary>The convolution weight gradient sums over the batch and positions as one long K: split it.</summary>
    [Test]
    public void ConvolutionWeightGradientSplitsK()
    {
        var conv = new Conv2dShape(Batch: 3, InChannels: 2, Height: 9, Width: 10, OutChannels: 5, Kernel: 3, Stride: 1, Padding: 1);
        var device = TestDevices.TiledCpu;
        var inputValues = GradCheck.RandomDoubles(21, conv.Batch * conv.InChannels * conv.Height * conv.Width).ToFloats();
        var doutputValues = GradCheck.RandomDoubles(22, conv.Batch * conv.OutChannels * conv.OutHeight * conv.OutWidth).ToFloats();
        var weights = conv.OutChannels * conv.InChannels * conv.Kernel * conv.Kernel;
        using var input = device.Upload(inputValues);
        using var doutput = device.Upload(doutputValues);
        float[] Run(int splits)
        {
            using var dweight = device.Upload(GradCheck.RandomDoubles(23, weights).ToFloats());
            MatMul.For(device).RunConvolution(GemmOperands.ConvWeightGradient, dweight.View, doutput.View, input.View, conv, splits);
            return dweight.Read();
        }

        Compare.AssertClose(Run(3), Run(1), "matmul.conv_weight_gradient.splits");
    }

    [Test]
    public void SplitsFillTheDeviceOnlyWhenKIsLong()
    {
        // Forward products (many rows) keep one part; weight gradients (K = batch x tokens) are split,
        // never into parts shorter than 256 K values, never beyond 32.
        Assert.That(MatMul.SplitsFor(new GemmShape(6272, 384, 128, 0, 1, 0, 0), 132), Is.EqualTo(1));
        Assert.That(MatMul.SplitsFor(new GemmShape(384, 128, 6272, 1, 0, 1, 0), 132), Is.EqualTo(22));
        Assert.That(MatMul.SplitsFor(new GemmShape(128, 128, 300, 1, 0, 1, 0), 132), Is.EqualTo(1));
        Assert.That(MatMul.SplitsFor(new GemmShape(10, 10, 1_000_000, 1, 0, 1, 0), 132), Is.EqualTo(32));
    }
}
