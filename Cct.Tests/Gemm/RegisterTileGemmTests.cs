using Cct.Gpu.Gemm;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Gemm;

/// <summary>
/// The OpenCL-CPU GEMM (8x32 register tiles) on the simulator, or on the accelerator CCT_TEST_ACCELERATOR names,
/// against a double-precision host product. M is not a multiple of 8 and N not of 32 (N = 5 is all one partial tile),
/// so the clamped rows, the unstored columns and the packing of op(B) all run, in every transpose. Bound: the
/// tests' host bound, 1e-4 + 1e-3·|ref| (fp32 sums of at most 150 products of values in [−1, 1]).
/// </summary>
public sealed class RegisterTileGemmTests
{
    private static readonly object[] Cases =
    [
        new object[] { 70, 45, 150, 0, 0 },
        new object[] { 70, 45, 150, 0, 1 },
        new object[] { 70, 45, 150, 1, 0 },
        new object[] { 70, 45, 150, 1, 1 },
        new object[] { 3, 5, 37, 0, 1 },
        new object[] { 16, 64, 9, 0, 0 },
        new object[] { 5, 7, 0, 0, 1 },
    ];

    [TestCaseSource(nameof(Cases))]
    public void MatchesTheHostProduct(int m, int n, int k, int transposeA, int transposeB)
    {
        var device = TestDevices.RegisterTilesCpu;
        var a = GradCheck.RandomDoubles(21, m * k);
        var b = GradCheck.RandomDoubles(22, k * n);
        var bias = GradCheck.RandomDoubles(23, n);
        var initial = GradCheck.RandomDoubles(24, m * n);
        var shape = new GemmShape(m, n, k, transposeA, transposeB, Accumulate: 1, HasBias: 1);
        using var ab = device.Upload(a.ToFloats());
        using var bb = device.Upload(b.ToFloats());
        using var biasBuffer = device.Upload(bias.ToFloats());
        using var c = device.Upload(initial.ToFloats());

        RegisterTileGemm.For(device).Run(c.View, ab.View, bb.View, biasBuffer.View, shape);

        var expected = new double[m * n];
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var sum = 0.0;
                for (var p = 0; p < k; p++)
                {
                    sum += (transposeA != 0 ? a[(p * m) + i] : a[(i * k) + p]) * (transposeB != 0 ? b[(j * k) + p] : b[(p * n) + j]);
                }

                expected[(i * n) + j] = initial[(i * n) + j] + sum + bias[j];
            }
        }

        Compare.AssertClose(c.Read().ToDoubles(), expected, $"register_tiles.{m}x{n}x{k}.t{transposeA}{transposeB}", Compare.HostReference);
    }

    /// <summary>
    /// Without accumulation or bias, each output is the k-ordered fp32 sum the item GEMM forms, so the two agree
    /// exactly on the simulator: the tiling changes which work-item computes an output, not how. (On the simulator
    /// always: another compiler may contract a·b + c into an FMA in one kernel and not the other.)
    /// </summary>
    [Test]
    public void EqualsTheItemGemmBitForBitOnTheSimulator()
    {
        const int m = 37, n = 70, k = 53;
        var shape = new GemmShape(m, n, k, 0, 1, 0, 0);
        var a = GradCheck.RandomDoubles(31, m * k).ToFloats();
        var b = GradCheck.RandomDoubles(32, n * k).ToFloats();
        using var tiles = ComputeDevice.Create(AcceleratorKind.Cpu, cpuShape: null, KernelFamily.RegisterTiles);
        using var items = ComputeDevice.Create(AcceleratorKind.Cpu, cpuShape: null, KernelFamily.Items);
        Assert.That(Product(tiles, (c, x, y) => RegisterTileGemm.For(tiles).Run(c, x, y, y, shape)), Is.EqualTo(Product(items, (c, x, y) => MatMul.For(items).RunSimple(c, x, y, y, shape))));

        float[] Product(ComputeDevice device, Action<ILGPU.ArrayView<float>, ILGPU.ArrayView<float>, ILGPU.ArrayView<float>> run)
        {
            using var ab = device.Upload(a);
            using var bb = device.Upload(b);
            using var c = device.Allocate(m * n);
            run(c.View, ab.View, bb.View);
            return c.Read();
        }
    }
}
