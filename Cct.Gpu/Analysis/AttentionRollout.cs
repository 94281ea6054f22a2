using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Analysis;

/// <summary>
/// Attention rollout (Abnar &amp; Zuidema 2020) as a row vector pushed back through the blocks: a block's
/// attention averaged over its heads, plus the identity for the residual, renormalised (rows of both sum to
/// 1, so the sum halves), is Â = ½ (mean_h P + I). The rollout is R = Â_L ⋯ Â_1, and a pooling weight per
/// output token w gives the weight of each input token as w · R, computed right to left as L vector-matrix
/// products (T² per block and image) instead of forming R (T³ per block).
/// </summary>
internal sealed class AttentionRollout
{
    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, RolloutShape> step;

    private AttentionRollout(ComputeDevice device)
    {
        this.device = device;
        step = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, RolloutShape>(StepKernel);
    }

    public static AttentionRollout For(ComputeDevice device) => device.Kernels(static d => new AttentionRollout(d));

    /// <summary>output (B, T) = input (B, T) · ½ (mean over heads of probabilities (B, H, T, T) + I).</summary>
    public void Step(ArrayView<float> output, ArrayView<float> input, ArrayView<float> probabilities, RolloutShape shape)
    {
        using var profile = device.Time("AttentionRollout.Step");
        var count = shape.Batch * shape.Tokens;
        var threads = device.Threads(count);
        if (threads > 0)
        {
            step(threads, threads, count, output, input, probabilities, shape);
        }
    }

    // One item per (b, s), grid-stride: Σ_t input[b, t] · ½ (Σ_h P[b, h, t, s] / H + [t = s]). Neighbouring
    // items read neighbouring s, so the loads of P coalesce.
    private static void StepKernel(Index1D index, int stride, int count, ArrayView<float> output, ArrayView<float> input, ArrayView<float> probabilities, RolloutShape s)
    {
        var perHead = (long)s.Tokens * s.Tokens;
        var headWeight = 0.5f / s.Heads;
        for (var item = index.X; item < count; item += stride)
        {
            var b = item / s.Tokens;
            var column = item % s.Tokens;
            var rowBase = (long)b * s.Tokens;
            var probabilityBase = (long)b * s.Heads * perHead;
            var sum = 0.5f * input[rowBase + column];
            for (var t = 0; t < s.Tokens; t++)
            {
                var headSum = 0f;
                for (var h = 0; h < s.Heads; h++)
                {
                    headSum += probabilities[probabilityBase + (h * perHead) + ((long)t * s.Tokens) + column];
                }

                sum += input[rowBase + t] * headSum * headWeight;
            }

            output[item] = sum;
        }
    }
}
