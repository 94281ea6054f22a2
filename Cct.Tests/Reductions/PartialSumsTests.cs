using Cct.Gpu.Layers;
using Cct.Gpu.Reductions;
using Cct.Tests.Support;

namespace Cct.Tests.Reductions;

/// <summary>
/// GPUs split the long parameter-gradient sums (bias, LayerNorm, SeqPool) into row chunks
/// (<see cref="PartialSums"/>); the CPU always uses one. Here the chunked path is forced on the CPU and
/// compared with the one-chunk path, which the PyTorch parity tests cover. Row counts are not multiples
/// of the chunk count, and gradients start non-zero, so the chunked sums must accumulate too.
/// Bound 1e-5 + 1e-4·|ref|: only the order of fp32 additions differs.
/// </summary>
public sealed class PartialSumsTests
{
    private const int Chunks = 4;

    [Test]
    public void LinearBiasSumsAgreeAcrossChunks()
    {
        const int rows = 37, fin = 5, fout = 7;
        var device = TestDevices.Cpu;
        using var x = device.Upload(GradCheck.RandomDoubles(1, rows * fin).ToFloats());
        using var w = device.Upload(GradCheck.RandomDoubles(2, fout * fin).ToFloats());
        using var dy = device.Upload(GradCheck.RandomDoubles(3, rows * fout).ToFloats());
        float[] Run(int chunks)
        {
            using var dx = device.Allocate(rows * fin);
            using var dw = device.Allocate(fout * fin);
            using var db = device.Upload(GradCheck.RandomDoubles(4, fout).ToFloats());
            dx.MemSetToZero();
            dw.MemSetToZero();
            Linear.For(device).Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dy.View, x.View, w.View, true, rows, fin, fout, chunks);
            return db.Read();
        }

        Compare.AssertClose(Run(Chunks), Run(1), "partial-sums.linear.dbias");
    }

    [Test]
    public void LayerNormParameterSumsAgreeAcrossChunks()
    {
        const int rows = 37, channels = 6;
        var device = TestDevices.Cpu;
        var layerNorm = LayerNorm.For(device);
        using var x = device.Upload(GradCheck.RandomDoubles(5, rows * channels).ToFloats());
        using var weight = device.Upload(GradCheck.RandomDoubles(6, channels).ToFloats());
        using var bias = device.Upload(GradCheck.RandomDoubles(7, channels).ToFloats());
        using var dy = device.Upload(GradCheck.RandomDoubles(8, rows * channels).ToFloats());
        using var y = device.Allocate(rows * channels);
        using var mean = device.Allocate(rows);
        using var rstd = device.Allocate(rows);
        layerNorm.Forward(y.View, new NormStatistics(mean.View, rstd.View), x.View, new WeightAndBias(weight.View, bias.View), rows, channels);
        (float[] Weight, float[] Bias) Run(int chunks)
        {
            using var dx = device.Allocate(rows * channels);
            using var dw = device.Upload(GradCheck.RandomDoubles(9, channels).ToFloats());
            using var db = device.Upload(GradCheck.RandomDoubles(10, channels).ToFloats());
            dx.MemSetToZero();
            layerNorm.Backward(dx.View, new WeightAndBiasGradients(dw.View, db.View), dy.View, x.View, new NormStatistics(mean.View, rstd.View), weight.View, rows, channels, chunks);
            return (dw.Read(), db.Read());
        }

        var (chunkedWeight, chunkedBias) = Run(Chunks);
        var (weightGradient, biasGradient) = Run(1);
        Compare.AssertClose(chunkedWeight, weightGradient, "partial-sums.layernorm.dweight");
        Compare.AssertClose(chunkedBias, biasGradient, "partial-sums.layernorm.dbias");
    }

    [Test]
    public void SeqPoolParameterSumsAgreeAcrossChunks()
    {
        const int rows = 37, channels = 6;
        var device = TestDevices.Cpu;
        using var dscores = device.Upload(GradCheck.RandomDoubles(11, rows).ToFloats());
        using var input = device.Upload(GradCheck.RandomDoubles(12, rows * channels).ToFloats());
        (float[] Weight, float[] Bias) Run(int chunks)
        {
            using var dw = device.Upload(GradCheck.RandomDoubles(13, channels).ToFloats());
            using var db = device.Upload([0.25f]);
            SeqPool.For(device).ParameterBackward(dw.View, db.View, dscores.View, input.View, rows, channels, chunks);
            return (dw.Read(), db.Read());
        }

        var (chunkedWeight, chunkedBias) = Run(Chunks);
        var (weightGradient, biasGradient) = Run(1);
        Compare.AssertClose(chunkedWeight, weightGradient, "partial-sums.seqpool.dweight");
        Compare.AssertClose(chunkedBias, biasGradient, "partial-sums.seqpool.dbias");
    }

    // Asserts the simulator's own profile, so the OpenCL run of the device tests (.ci/run) leaves it out by category.
    [Test]
    [Category("Simulator")]
    public void ChunksOnlyOnGpus()
    {
        // The simulator has a few threads: one chunk, no extra pass. GPUs are covered by `cct check`.
        Assert.That(PartialSums.ChunksFor(TestDevices.Cpu, 25_088, 256), Is.EqualTo(1));
        Assert.That(PartialSums.RowsPerChunk(37, Chunks), Is.EqualTo(10));
    }
}
