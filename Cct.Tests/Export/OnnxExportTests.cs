using Cct.Gpu.Model;
using Cct.Tests.Support;
using Cct.Training.Export;
using Cct.Training.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Cct.Tests.Export;

/// <summary>
/// `cct export` writes ONNX that ONNX Runtime loads and runs to Cct's own eval-mode logits. Both layouts:
/// official (learnable positional embedding, SeqPool, GELU) and post-norm (BatchNorm with non-trivial
/// running statistics, 2x2 pooling, sine embedding, mean pooling, ReLU). Bound 1e-5 + 1e-4·|ref|: both
/// run the same fp32 graph with different summation orders.
/// </summary>
public sealed class OnnxExportTests
{
    private static readonly CctConfig Official = new()
    {
        ImageSize = 12, ConvLayers = 2, MidChannels = 6, Dim = 8, Layers = 2, Heads = 2, MlpRatio = 2,
    };

    private static readonly CctConfig PostNorm = new()
    {
        ImageSize = 12, ConvChannels = [4, 8], ConvLayers = 2, BatchNorm = true, PoolAfterEveryConv = false,
        PoolKernel = 2, PoolStride = 2, PoolPadding = 0, Dim = 8, Layers = 2, Heads = 4, MlpRatio = 2,
        Layout = BlockLayout.PostNorm, Pooling = PoolingKind.Mean, PositionalEmbedding = PositionalEmbeddingKind.Sine,
    };

    private static readonly object[] Configs = [new object[] { "official", Official }, new object[] { "post-norm", PostNorm }];

    [TestCaseSource(nameof(Configs))]
    public void OnnxRuntimeGivesCctLogits(string name, CctConfig config)
    {
        const int batch = 3;
        var device = TestDevices.Cpu;
        using var model = new CctModel(device, config, batch);
        model.Initialize(seed: 5);
        foreach (var slot in model.BufferLayout.Slots.Where(s => s.Name.EndsWith(".running_mean", StringComparison.Ordinal) || s.Name.EndsWith(".running_var", StringComparison.Ordinal)))
        {
            // Running statistics away from (0, 1), so the exported BatchNormalization must really use them.
            var values = GradCheck.RandomDoubles(7, (int)slot.Length, 0.5).Select(v => (float)(slot.Name.EndsWith("var", StringComparison.Ordinal) ? 1 + v : v)).ToArray();
            model.WriteBuffer(slot.Name, values);
        }

        var images = GradCheck.RandomDoubles(8, batch * config.InChannels * config.ImageSize * config.ImageSize, 2.0).ToFloats();
        using var input = device.Upload(images);
        var expected = new float[batch * config.Classes];
        model.Forward(input.View, batch, train: false).CopyToCPU(expected);

        var onnx = OnnxExport.ToBytes(model, DatasetSpec.FashionMnist);
        using var session = new InferenceSession(onnx);
        var tensor = new DenseTensor<float>(images, [batch, config.InChannels, config.ImageSize, config.ImageSize]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("images", tensor)]);
        var logits = results.Single(r => r.Name == "logits").AsTensor<float>();

        Assert.That(logits.Dimensions.ToArray(), Is.EqualTo(new[] { batch, config.Classes }));
        Compare.AssertClose(logits.ToArray(), expected, $"onnx.{name}.logits");
        Assert.That(session.ModelMetadata.CustomMetadataMap["classes"], Does.StartWith("T-shirt/top,"));
    }
}
