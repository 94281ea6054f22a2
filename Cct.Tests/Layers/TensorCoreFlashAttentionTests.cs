using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;
using Cct.Training.Check;

namespace Cct.Tests.Layers;

/// <summary>
/// TensorCoreFlashAttention, fused attention's forward and backward on tensor cores (inline PTX): in bf16, and in 3xTF32
/// for tf32x3 and tf32. On the CPU: where it loads and which shapes and views it takes. On a CUDA GPU
/// (category "Gpu", which the default test command excludes with <c>--filter "TestCategory!=Gpu"</c>): each precision
/// against the fp32 fused kernels on the same GPU, bf16 within <see cref="Tolerance.Bf16Attention"/> and 3xTF32 within
/// the fp32 checks' <see cref="Tolerance.Reduction"/>, and bit-identical reruns. Without a GPU its PTX is run warp by
/// warp against float64 by tools/flash-attention-emulate.py (CI).
/// </summary>
public sealed class TensorCoreFlashAttentionTests
{
    private static readonly RngKey Key = new(11, 2, 5);

    [Test]
    public void LoadsOnlyOnCudaInATensorCorePrecision()
    {
        var error = Assert.Throws<NotSupportedException>(() => TensorCoreFlashAttention.For(TestDevices.Cpu))!;
        Assert.That(error.Message, Does.Contain("CUDA GPU in a tensor-core precision").And.Not.Contain('\n'));
    }

    // On the CPU accelerator's own buffers (an OpenCL test device's NativePtr is a cl_mem handle, not an address).
    [Test]
    public void FitsHeadSize64WithTheOutputOnEightBytes()
    {
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        using var buffer = device.Allocate(64);
        Assert.Multiple(() =>
        {
            Assert.That(TensorCoreFlashAttention.Fits(new AttentionShape(2, 49, 128, 2), buffer.View), Is.True);
            Assert.That(TensorCoreFlashAttention.Fits(new AttentionShape(2, 49, 128, 2), buffer.View.SubView(2, 32)), Is.True);
            Assert.That(TensorCoreFlashAttention.Fits(new AttentionShape(2, 49, 128, 2), buffer.View.SubView(1, 32)), Is.False, "a float pair's store needs 8 bytes");
            Assert.That(TensorCoreFlashAttention.Fits(new AttentionShape(1, 70, 96, 3), buffer.View), Is.False, "head size 32");
            Assert.That(TensorCoreFlashAttention.Fits(new AttentionShape(1, 7, 256, 2), buffer.View), Is.False, "head size 128");
        });
    }

    /// <summary>
    /// cct-2/3x2's attention (49 tokens) and cct-7/3x1's (196, 4 heads) at batch 8, with and without dropout, in bf16 and
    /// tf32x3: output, log-sum-exp and dqkv (dq, dk, dv accumulated into zeros) against the fp32 kernels.
    /// </summary>
    [TestCase(8, 49, 128, 2, 0.1f, GemmPrecision.Bf16)]
    [TestCase(8, 196, 256, 4, 0.1f, GemmPrecision.Bf16)]
    [TestCase(8, 196, 256, 4, 0f, GemmPrecision.Bf16)]
    [TestCase(8, 49, 128, 2, 0.1f, GemmPrecision.Tf32x3)]
    [TestCase(8, 196, 256, 4, 0.1f, GemmPrecision.Tf32x3)]
    [TestCase(8, 196, 256, 4, 0f, GemmPrecision.Tf32x3)]
    [Category("Gpu")]
    public void MatchesTheFp32KernelsOnCuda(int batch, int tokens, int channels, int heads, float p, GemmPrecision precision)
    {
        var shape = new AttentionShape(batch, tokens, channels, heads);
        var qkv = KernelCases.Uniform(100, (long)batch * tokens * 3 * channels, 2f);
        var dout = KernelCases.Uniform(102, (long)batch * tokens * channels);
        var expected = Run(TestDevices.Cuda(GemmPrecision.Fp32), qkv, dout, shape, p);
        var actual = Run(TestDevices.Cuda(precision), qkv, dout, shape, p);
        var name = $"tensor_core_attention.{precision}.{batch}x{tokens}x{channels}h{heads}p{p}";
        var bound = precision == GemmPrecision.Bf16 ? Tolerance.Bf16Attention : Tolerance.Reduction;
        Assert.Multiple(() =>
        {
            Compare.AssertClose(actual.Output, expected.Output, $"{name}.output", bound);
            Compare.AssertClose(actual.LogSumExp, expected.LogSumExp, $"{name}.log_sum_exp", bound);
            Compare.AssertClose(actual.Dqkv, expected.Dqkv, $"{name}.dqkv", bound);
        });
    }

    /// <summary>The same inputs and key give the same bytes: each row's sums run in one order, nothing is atomic.</summary>
    [TestCase(GemmPrecision.Bf16)]
    [TestCase(GemmPrecision.Tf32x3)]
    [Category("Gpu")]
    public void RepeatsBitForBitOnCuda(GemmPrecision precision)
    {
        var shape = new AttentionShape(8, 196, 256, 4);
        var qkv = KernelCases.Uniform(103, 8L * 196 * 3 * 256, 2f);
        var dout = KernelCases.Uniform(104, 8L * 196 * 256);
        var device = TestDevices.Cuda(precision);
        var first = Run(device, qkv, dout, shape, 0.1f);
        var again = Run(device, qkv, dout, shape, 0.1f);
        Assert.Multiple(() =>
        {
            Assert.That(again.Output, Is.EqualTo(first.Output).AsCollection);
            Assert.That(again.LogSumExp, Is.EqualTo(first.LogSumExp).AsCollection);
            Assert.That(again.Dqkv, Is.EqualTo(first.Dqkv).AsCollection);
        });
    }

    private static (float[] Output, float[] LogSumExp, float[] Dqkv) Run(ComputeDevice device, float[] qkvValues, float[] doutValues, AttentionShape shape, float p)
    {
        var flash = FlashAttention.For(device);
        using var qkv = device.Upload(qkvValues);
        using var dout = device.Upload(doutValues);
        using var output = device.Allocate(doutValues.Length);
        using var logSumExp = device.Allocate((long)shape.Batch * shape.Heads * shape.Tokens);
        using var scratch = device.Allocate(FlashAttention.ScratchLength(shape));
        using var dqkv = device.Allocate(qkvValues.Length);
        dqkv.MemSetToZero();
        flash.Forward(output.View, logSumExp.View, qkv.View, shape, p, Key);
        flash.Backward(dqkv.View, scratch.View, dout.View, qkv.View, output.View, logSumExp.View, shape, p, Key);
        device.Synchronize();
        return (output.Read(), logSumExp.Read(), dqkv.Read());
    }
}
