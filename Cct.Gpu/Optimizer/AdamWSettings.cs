using Cct.Gpu.Optimizer;

// The optimizer's settings sit with it in Optimizer/, but keep the namespace Cct.Gpu.Layers they shipped in (0.1.0's
// public API, PublicAPI.Shipped.txt): moving them would break every caller of CctModel.TrainStep.
namespace Cct.Gpu.Layers;

/// <summary>
/// Hyperparameters of <see cref="AdamW"/>, named as in torch.optim.AdamW. A <see cref="WeightDecay"/>
/// of 0 gives plain Adam (torch.optim.Adam without weight decay); see <see cref="Adam"/>.
/// </summary>
public readonly record struct AdamWSettings(float LearningRate, float Beta1, float Beta2, float Epsilon, float WeightDecay)
{
    /// <summary>Plain Adam: AdamW's decoupled decay is the only difference, so zero decay is exactly Adam.</summary>
    public static AdamWSettings Adam(float learningRate, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f)
        => new(learningRate, beta1, beta2, epsilon, 0f);
}
