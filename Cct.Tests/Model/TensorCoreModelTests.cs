using Cct.Gpu.Gemm;
using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Gpu.Optimizer;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;
using Cct.Training.Check;

namespace Cct.Tests.Model;

/// <summary>
/// A whole model trained with its Linear products on tensor cores (<see cref="GemmPrecision"/>) against the same model in
/// fp32 on the same CUDA GPU: cct-2/3x2 (its 128-wide Linears all on the tensor cores, the 10-class head in fp32), five
/// AdamW steps at batch 64 from one initialisation. Category "Gpu": the default test command excludes it.
/// </summary>
[Category("Gpu")]
public sealed class TensorCoreModelTests
{
    private const int Batch = 64;
    private const int Steps = 5;

    /// <summary>
    /// 3xTF32 is fp32-accurate: the losses agree within <see cref="Tolerance.Model"/>, the bound for fp32 sums in another
    /// order. TF32's operand rounding (~5e-4 a product) moves a loss of ~2.3 by ~1e-3 after five steps at lr 1e-3; 2e-2
    /// absolute, 1 % relative, leaves room while a broken product (a wrong fragment, a missed split) moves it by O(1).
    /// bf16 rounds operands to 2⁻⁸ where TF32 rounds to 2⁻¹¹, and runs fused attention on the tensor cores too (its
    /// probabilities and their gradients in bf16); its losses move by ~1e-2, so 5e-2 absolute and 2 % relative.
    /// Every Linear with 4-aligned features must have run on the tensor cores: 8 products forward and 16 backward a step
    /// (qkv, proj and the two MLP Linears of 2 blocks; the 10-class head and the 1-wide pool stay fp32); in bf16 each
    /// block's attention as well, forward and backward (TensorCoreFlashAttention), which in tf32x3 and tf32 runs in 3xTF32
    /// (fp32-accurate, so tf32x3 stays within <see cref="Tolerance.Model"/>).
    /// </summary>
    [TestCase(GemmPrecision.Tf32x3)]
    [TestCase(GemmPrecision.Tf32)]
    [TestCase(GemmPrecision.Bf16)]
    public void TrainingStepsMatchFp32OnCuda(GemmPrecision precision)
    {
        var random = new Random(5);
        var images = Enumerable.Range(0, Batch * 28 * 28).Select(_ => (float)random.NextDouble()).ToArray();
        var classes = Enumerable.Range(0, Batch).Select(i => i % 10).ToArray();
        var tensorDevice = TestDevices.Cuda(precision);
        var fp32 = Losses(TestDevices.Cuda(GemmPrecision.Fp32), images, classes);
        var (products, passes) = (TensorCoreGemm.For(tensorDevice).Products, TensorCoreFlashAttention.For(tensorDevice).Passes);
        var tensorCores = Losses(tensorDevice, images, classes);
        Assert.That(TensorCoreGemm.For(tensorDevice).Products - products, Is.EqualTo(Steps * 24), "products on the tensor cores");
        Assert.That(TensorCoreFlashAttention.For(tensorDevice).Passes - passes, Is.EqualTo(Steps * 2 * 2), "attention passes on the tensor cores");
        var tolerance = precision switch
        {
            GemmPrecision.Tf32x3 => Tolerance.Model,
            GemmPrecision.Tf32 => new Tolerance("TF32 model losses", 2e-2, 1e-2),
            _ => new Tolerance("bf16 model losses", 5e-2, 2e-2),
        };
        Compare.AssertClose(tensorCores, fp32, $"model.{precision}.losses", tolerance);
    }

    private static float[] Losses(ComputeDevice device, float[] images, int[] classes)
    {
        using var model = new CctModel(device, CctConfig.Preset("cct-2/3x2"), Batch);
        model.Initialize(3);
        using var input = device.Upload(images);
        using var labels = device.Upload(classes);
        var parameters = model.Parameters;
        var settings = new AdamWSettings(1e-3f, 0.9f, 0.999f, 1e-8f, 0.05f);
        var losses = new float[Steps];
        for (var step = 1; step <= Steps; step++)
        {
            model.Forward(input.View, Batch, train: true);
            parameters.ZeroGradients();
            model.Backward(labels.View, 0f);
            losses[step - 1] = model.ReadLoss();
            AdamW.For(device).Step(parameters.Values.View, parameters.FirstMoment.View, parameters.SecondMoment.View, parameters.Gradients.View, settings, step);
        }

        return losses;
    }
}
