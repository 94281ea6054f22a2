using Cct.Gpu.Analysis;
using Cct.Gpu.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Gpu.Model;

/// <summary>Computes <see cref="AttentionMap"/>s on the device from what an eval-mode forward pass keeps.</summary>
internal static class AttentionMapper
{
    /// <summary>Maps for normalised images (N, InChannels, ImageSize, ImageSize), in batches of the model's MaxBatch.</summary>
    public static IReadOnlyList<AttentionMap> Compute(CctModel model, ComputeDevice device, ReadOnlySpan<float> images)
    {
        var c = model.Config;
        var pixels = c.InChannels * c.ImageSize * c.ImageSize;
        if (images.Length == 0 || images.Length % pixels != 0)
        {
            throw new ArgumentException($"images hold {images.Length} values; expected a whole number of {c.InChannels}×{c.ImageSize}×{c.ImageSize} images", nameof(images));
        }

        var tokens = c.Tokens;
        var count = images.Length / pixels;
        var maps = new List<AttentionMap>(count);
        using var input = device.Allocate((long)model.MaxBatch * pixels); // (B, C, S, S)
        using var vector = device.Allocate((long)model.MaxBatch * tokens); // (B, T)
        using var next = device.Allocate((long)model.MaxBatch * tokens); // (B, T)
        using var probabilities = device.Allocate((long)model.MaxBatch * c.Heads * tokens * tokens); // (B, H, T, T)
        using var mixed = device.Allocate((long)model.MaxBatch * tokens * c.Dim); // (B, T, C)
        var rollout = AttentionRollout.For(device);
        for (var start = 0; start < count; start += model.MaxBatch)
        {
            var batch = Math.Min(model.MaxBatch, count - start);
            ((ArrayView<float>)input.View).SubView(0, (long)batch * pixels).CopyFromCPU(images.Slice(start * pixels, batch * pixels));
            var logits = new float[batch * c.Classes];
            model.Forward(input.View, batch, train: false).CopyToCPU(logits);
            var pooling = new float[batch * tokens];
            if (c.Pooling == PoolingKind.Seq)
            {
                model.PoolingWeights.SubView(0, pooling.Length).CopyToCPU(pooling);
            }
            else
            {
                Array.Fill(pooling, 1f / tokens);
            }

            var (current, other) = (vector, next);
            current.View.SubView(0, pooling.Length).CopyFromCPU(pooling);
            for (var j = c.Layers - 1; j >= 0; j--)
            {
                model.AttentionProbabilities(j, batch, probabilities.View, mixed.View);
                rollout.Step(other.View, current.View, probabilities.View, new RolloutShape(batch, c.Heads, tokens));
                (current, other) = (other, current);
            }

            var rolled = new float[batch * tokens];
            current.View.SubView(0, rolled.Length).CopyToCPU(rolled);
            for (var b = 0; b < batch; b++)
            {
                maps.Add(new AttentionMap(c.TokenSide, pooling[(b * tokens)..((b + 1) * tokens)], rolled[(b * tokens)..((b + 1) * tokens)], CctModel.Softmax(logits.AsSpan(b * c.Classes, c.Classes))));
            }
        }

        return maps;
    }
}
