using Cct.Gpu.Gemm;
using Cct.Gpu.Layers;
using Cct.Tests.Support;

namespace Cct.Tests.Gemm;

/// <summary>
/// The GPU GEMM (128x128 tiles, 8x8 outputs per thread, optional split of K) on the simulator shaped for
/// 16x16 groups, against a double-precision host product. Shapes are not multiples of the tile or of
/// the K step, so every guard and the partial last tile are exercised; each split count is forced; K = 0
/// leaves bias + c.
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
        new object[] { 5, 7, 0, 0, 1, 1 },
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

    /// <summary>
    /// The convolution weight gradient sums over the batch and positions as one long K: split it, on the small tile
    /// (5 x 18 outputs) and on the large one (128 x 144).
    /// </summary>
    [TestCase(3, 2, 9, 10, 5)]
    [TestCase(2, 16, 4, 5, 128)]
    public void ConvolutionWeightGradientSplitsK(int batch, int inChannels, int height, int width, int outChannels)
    {
        var conv = new Conv2dShape(batch, inChannels, height, width, outChannels, Kernel: 3, Stride: 1, Padding: 1);
        Assert.That(MatMul.UsesSmallTile(new GemmShape(outChannels, inChannels * 9, 1, 0, 1, 1, 0)), Is.EqualTo(outChannels < 128), "tile");
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

    /// <summary>
    /// Which convolution gradients run on the small tile (MatMul.SmallTileIssue: its K loops issue up to 1.75x the
    /// instructions an FFMA): those the large tile would pad more than that.
    /// </summary>
    [TestCase(64, 196, true)] // cct-2/3x2's second input gradient, an image: 64 x 196 padded to 128 x 256, or to 64 x 224
    [TestCase(64, 9, true)] // cct-2/3x2's first weight gradient: 128 x 128, or 64 x 32
    [TestCase(256, 9, true)] // cct-7/3x1's: 256 x 128, or 256 x 32
    [TestCase(128, 576, false)] // cct-2/3x2's second weight gradient: 128 x 640, or 128 x 576
    [TestCase(128, 784, false)] // the seed preset's last input gradient: 128 x 896, or 128 x 800
    public void ConvolutionGradientsTakeTheSmallTileWhereTheLargeOnePadsMost(int m, int n, bool small)
        => Assert.That(MatMul.UsesSmallTile(new GemmShape(m, n, 1152, 0, 0, 1, 0)), Is.EqualTo(small));

    [Test]
    public void SplitsFillTheDeviceInWholeWavesOnlyWhenKIsLong()
    {
        // 132 multiprocessors: at least 4 large-tile groups each, rounded up to whole waves of 2 each (264 groups);
        // forward products (many rows) keep one part; never parts shorter than 256 K values, and never beyond 32 unless
        // all the partials together hold under 2^20 values.
        Assert.That(MatMul.SplitsFor(new GemmShape(6272, 384, 128, 0, 1, 0, 0), 132), Is.EqualTo(1));
        Assert.That(MatMul.SplitsFor(new GemmShape(384, 128, 6272, 1, 0, 1, 0), 132), Is.EqualTo(24));
        Assert.That(MatMul.SplitsFor(new GemmShape(128, 128, 300, 1, 0, 1, 0), 132), Is.EqualTo(1));
        // cct-2/3x2's first convolution's weight gradient at batch 512 (64 x 9 outputs): one group, split into 4 an SM.
        Assert.That(MatMul.SplitsFor(new GemmShape(64, 9, 512 * 784, 0, 1, 1, 0), 132), Is.EqualTo(528));
        Assert.That(MatMul.SplitsFor(new GemmShape(10, 10, 1_000_000, 1, 0, 1, 0), 132), Is.EqualTo(528));
        // Its second's (128 x 576 outputs, 5 groups) would take 158 parts to fill whole waves: 32, as 2^20 / 73,728 < 32.
        Assert.That(MatMul.SplitsFor(new GemmShape(128, 576, 512 * 196, 0, 1, 1, 0), 132), Is.EqualTo(32));
        // 10x10 groups: 6 parts (600 groups) would leave a third wave at 72 of 264; 7 parts fill it to 700.
        Assert.That(MatMul.SplitsFor(new GemmShape(1280, 1280, 100_000, 1, 0, 1, 0), 132), Is.EqualTo(7));
    }

    /// <summary>
    /// Why attention's per-head products run on the small tile: at T = 196 tokens and head sizes 32 and 64, the
    /// large tile pads more than a quarter of its multiply-adds, the small one less.
    /// </summary>
    [TestCase(196, 196, 32)]
    [TestCase(196, 196, 64)]
    [TestCase(196, 32, 196)]
    [TestCase(196, 64, 196)]
    public void SmallTileKeepsAttentionPaddingUnderAQuarter(int m, int n, int k)
    {
        var shape = new GemmShape(m, n, k, 0, 0, 0, 0);
        Assert.That(MatMul.WastedWork(shape, MatMul.Side<LargeTile>()), Is.GreaterThan(0.25));
        Assert.That(MatMul.WastedWork(shape, MatMul.Side<SmallTile>()), Is.LessThanOrEqualTo(0.25));
    }

    /// <summary>
    /// Every shared-memory access of the kernel, a warp at a time: the slice stores (both load orders, every
    /// element slot) and the 16-byte fragment loads (per quarter warp, as the hardware serves 128-bit accesses)
    /// each take one pass over the 32 banks.
    /// </summary>
    [Test]
    public void SharedAccessesAreFreeOfBankConflicts()
    {
        CheckTile(default(LargeTile));
        CheckTile(default(SmallTile));
        // The counter sees conflicts: an unpadded 128-float row puts a warp's k-contiguous stores 8 to a bank.
        Assert.That(Passes(Enumerable.Range(0, 32).Select(e => ((e % MatMul.TileK) * 128) + (e / MatMul.TileK))), Is.EqualTo(8));
    }

    private static void CheckTile<TTile>(TTile tile)
        where TTile : struct, IGemmTile
    {
        var side = MatMul.Side<TTile>();
        var threads = tile.GroupSide * tile.GroupSide;
        Assert.That(MatMul.LoadsPerThread * threads, Is.EqualTo(side * MatMul.TileK), "each thread loads LoadsPerThread elements of a slice");
        foreach (var alongK in new[] { true, false })
        {
            // Slot r of thread t holds element (Row + r·RowStep, K + r·KStep).
            (int Row, int K) Element(int thread, int slot)
            {
                var place = new MatMul.SlicePlacement(alongK, thread, side, threads);
                return (place.Row + (slot * place.RowStep), place.K + (slot * place.KStep));
            }

            var elements = Enumerable.Range(0, threads).SelectMany(t => Enumerable.Range(0, MatMul.LoadsPerThread).Select(r => Element(t, r))).ToList();
            Assert.That(elements.Distinct().Count(), Is.EqualTo(side * MatMul.TileK), "the threads' slots cover the slice once");
            Assert.That(elements.All(e => e.Row < side && e.K < MatMul.TileK), Is.True, "every slot lies inside the slice");
            for (var slot = 0; slot < MatMul.LoadsPerThread; slot++)
            {
                for (var warp = 0; warp < threads; warp += 32)
                {
                    var r = slot;
                    var words = Enumerable.Range(warp, 32).Select(t => MatMul.SharedIndex(Element(t, r).Row, Element(t, r).K));
                    Assert.That(Passes(words), Is.EqualTo(1), $"{typeof(TTile).Name} stores along k {alongK}, slot {slot}, warp {warp / 32}");
                }
            }
        }

        for (var k = 0; k < MatMul.TileK; k++)
        {
            for (var fragment = 0; fragment < tile.Fragments; fragment++)
            {
                for (var quarter = 0; quarter < threads; quarter += 8)
                {
                    var group = tile.GroupSide;
                    var f = fragment;
                    var kk = k;
                    var a = Enumerable.Range(quarter, 8).SelectMany(t => Words(MatMul.FragmentIndex(kk, f, t / group, group)));
                    var b = Enumerable.Range(quarter, 8).SelectMany(t => Words(MatMul.FragmentIndex(kk, f, t % group, group)));
                    Assert.That(Passes(a), Is.EqualTo(1), $"{typeof(TTile).Name} A fragment {fragment}, k {k}, threads {quarter}..");
                    Assert.That(Passes(b), Is.EqualTo(1), $"{typeof(TTile).Name} B fragment {fragment}, k {k}, threads {quarter}..");
                }
            }
        }
    }

    // The 4 words of fragment index i of a Float4 view.
    private static IEnumerable<int> Words(int fragment) => Enumerable.Range(4 * fragment, 4);

    // Passes a shared-memory access over these word addresses takes: the most distinct words in one of 32 banks
    // (threads reading the same word share it).
    private static int Passes(IEnumerable<int> words) => words.Distinct().GroupBy(w => w % 32).Max(g => g.Count());
}
