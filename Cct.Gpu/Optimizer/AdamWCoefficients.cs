using Cct.Gpu.Layers;

namespace Cct.Gpu.Optimizer;

/// <summary>
/// AdamW's per-step scalars, computed on the host in double so the kernel needs no pow. Public only
/// because ILGPU's CPU backend emits kernel launchers into another assembly, which must see the type.
/// </summary>
internal readonly record struct AdamWCoefficients(float Decay, float Beta1, float Beta2, float StepSize, float InverseSqrtCorrection2, float Epsilon)
{
    internal static AdamWCoefficients Of(AdamWSettings s, int t)
    {
        var correction1 = 1.0 - Math.Pow(s.Beta1, t);
        var correction2 = 1.0 - Math.Pow(s.Beta2, t);
        return new AdamWCoefficients(
            (float)(1.0 - ((double)s.LearningRate * s.WeightDecay)),
            s.Beta1,
            s.Beta2,
            (float)(s.LearningRate / correction1),
            (float)(1.0 / Math.Sqrt(correction2)),
            s.Epsilon);
    }
}
