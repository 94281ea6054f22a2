using System.Text.Json;
using Cct.Gpu.IO;
using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Gpu.Optimizer;
using Cct.Gpu.Runtime;

namespace Cct.Training.Check;

/// <summary>
/// The whole model on the target device against the committed PyTorch fixtures (tools/reference/model_tiny.py):
/// a tiny official CCT and a tiny post-norm + BatchNorm + mean-pool model, 8x8x1 images, batch 3, same
/// weights and batch as PyTorch's float64 run. Mirrors CctModelTests: first-step logits, loss, gradients and
/// BatchNorm running statistics, then the losses and parameters of five AdamW steps.
/// </summary>
internal static class ModelParity
{
    /// <summary>The fixtures the CLI carries, in check-fixtures/ beside the executable.</summary>
    public static IReadOnlyList<string> Fixtures { get; } = ["model_official", "model_postnorm"];

    public static string DefaultFolder => Path.Combine(AppContext.BaseDirectory, "check-fixtures");

    /// <summary>Reads a fixture, with a one-line error when it is missing or unreadable.</summary>
    public static SafeTensorsFile Load(string folder, string name)
    {
        var path = Path.Combine(folder, name + ".safetensors");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"model fixture {path} is missing (a build or bundle of cct carries check-fixtures/; or pass --fixtures DIR)", path);
        }

        try
        {
            return SafeTensorsFile.Read(path);
        }
        catch (InvalidDataException e)
        {
            throw new IOException($"model fixture {path} is unreadable: {e.Message}", e);
        }
    }

    public static IReadOnlyList<CheckRow> Run(ComputeDevice device, string name, SafeTensorsFile file)
    {
        var meta = JsonDocument.Parse(file.Metadata["config"]).RootElement;
        var labelSmoothing = meta.GetProperty("label_smoothing").GetSingle();
        var betas = meta.GetProperty("betas").EnumerateArray().Select(b => b.GetSingle()).ToArray();
        var settings = new AdamWSettings(meta.GetProperty("lr").GetSingle(), betas[0], betas[1], meta.GetProperty("eps").GetSingle(), meta.GetProperty("weight_decay").GetSingle());
        var batch = file["input"].Shape[0];
        using var model = Build(device, meta, file, batch);
        using var scope = new DeviceScope(device);
        var input = scope.Upload(file["input"].ToFloats());
        var labels = scope.Upload(file["labels"].ToInts());
        var parameters = model.Parameters;
        var tolerance = Tolerance.Model;
        var rows = new List<CheckRow>();

        var logits = DeviceScope.Read(model.Forward(input, batch, train: true));
        parameters.ZeroGradients();
        model.Backward(labels, labelSmoothing);
        var losses = new float[5];
        losses[0] = model.ReadLoss();
        rows.Add(Comparison.Compare($"{name}: logits", logits, file["logits"].ToFloats(), tolerance));
        rows.Add(Comparison.Compare($"{name}: loss", [losses[0]], file["loss"].ToFloats(), tolerance));
        rows.Add(Comparison.Merge(
            $"{name}: gradients",
            parameters.Layout.Slots.Select(s => (s.Name, Comparison.Compare(s.Name, parameters.ReadGradient(s.Name), file["grad." + s.Name].ToFloats(), tolerance))).ToList(),
            tolerance));
        if (model.BufferLayout.Slots.Count > 0)
        {
            rows.Add(Comparison.Merge(
                $"{name}: batchnorm running stats",
                model.BufferLayout.Slots.Select(s => (s.Name, Comparison.Compare(s.Name, model.ReadBuffer(s.Name), file["buffer_after." + s.Name].ToFloats(), tolerance))).ToList(),
                tolerance));
        }

        // Steps as in PyTorch's loop: the step-1 gradients above, then forward, zero, backward, step.
        AdamW.For(device).Step(parameters.Values.View, parameters.FirstMoment.View, parameters.SecondMoment.View, parameters.Gradients.View, settings, 1);
        for (var step = 2; step <= losses.Length; step++)
        {
            model.Forward(input, batch, train: true);
            parameters.ZeroGradients();
            model.Backward(labels, labelSmoothing);
            losses[step - 1] = model.ReadLoss();
            AdamW.For(device).Step(parameters.Values.View, parameters.FirstMoment.View, parameters.SecondMoment.View, parameters.Gradients.View, settings, step);
        }

        rows.Add(Comparison.Compare($"{name}: losses of 5 AdamW steps", losses, file["losses"].ToFloats(), tolerance));

        // attention_pool.bias has a zero true gradient (softmax ignores a shift), so Adam turns fp32 noise into
        // ±lr steps: up to 5·lr = 0.05 from PyTorch's float64 run. It gets that bound in a row of its own.
        const string ShiftInvariant = "classifier.attention_pool.bias";
        rows.Add(Comparison.Merge(
            $"{name}: parameters after 5 AdamW steps",
            parameters.Layout.Slots.Where(s => s.Name != ShiftInvariant)
                .Select(s => (s.Name, Comparison.Compare(s.Name, parameters.ReadValue(s.Name), file["param_after5." + s.Name].ToFloats(), tolerance))).ToList(),
            tolerance));
        if (parameters.Layout.Contains(ShiftInvariant))
        {
            var lrBound = new Tolerance("5·lr", 5 * settings.LearningRate, 0);
            rows.Add(Comparison.Compare($"{name}: {ShiftInvariant} after 5 AdamW steps", parameters.ReadValue(ShiftInvariant), file["param_after5." + ShiftInvariant].ToFloats(), lrBound));
        }

        return rows;
    }

    /// <summary>The fixture's model with its initial parameters and BatchNorm buffers (CctModelTests uses it too).</summary>
    internal static CctModel Build(ComputeDevice device, JsonElement c, SafeTensorsFile file, int batch)
    {
        var postNorm = c.GetProperty("layout").GetString() == "post-norm";
        var config = new CctConfig
        {
            ImageSize = c.GetProperty("image_size").GetInt32(),
            InChannels = c.GetProperty("in_channels").GetInt32(),
            ConvLayers = c.GetProperty("conv_layers").GetInt32(),
            Kernel = c.GetProperty("kernel").GetInt32(),
            MidChannels = c.GetProperty("mid_channels").GetInt32(),
            Dim = c.GetProperty("dim").GetInt32(),
            Layers = c.GetProperty("layers").GetInt32(),
            Heads = c.GetProperty("heads").GetInt32(),
            MlpRatio = c.GetProperty("mlp_ratio").GetDouble(),
            Classes = c.GetProperty("classes").GetInt32(),
            Layout = postNorm ? BlockLayout.PostNorm : BlockLayout.Official,
            BatchNorm = c.GetProperty("batch_norm").GetBoolean(),
            Pooling = c.GetProperty("pool").GetString() == "mean" ? PoolingKind.Mean : PoolingKind.Seq,
            PositionalEmbedding = PositionalEmbeddingKind.Learnable,
            PoolAfterEveryConv = !postNorm,
            PoolKernel = postNorm ? 2 : 3,
            PoolStride = 2,
            PoolPadding = postNorm ? 0 : 1,
        };
        var model = new CctModel(device, config, batch);
        try
        {
            foreach (var slot in model.Parameters.Layout.Slots)
            {
                model.Parameters.WriteValue(slot.Name, file["param." + slot.Name].ToFloats());
            }

            foreach (var slot in model.BufferLayout.Slots)
            {
                model.WriteBuffer(slot.Name, file["buffer." + slot.Name].ToFloats());
            }

            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
