namespace Cct.Training.Training;

/// <summary>
/// Linear warmup from base/warmupSteps to the base rate, then cosine decay to <see cref="MinimumRate"/>
/// over the remaining steps (timm's cosine scheduler with warmup, per step rather than per epoch).
/// </summary>
internal sealed record LearningRateSchedule(double BaseRate, long WarmupSteps, long TotalSteps, double MinimumRate = 1e-6)
{
    /// <summary>The rate for optimizer step <paramref name="step"/> (0-based).</summary>
    public double At(long step)
    {
        if (step < WarmupSteps)
        {
            return BaseRate * (step + 1) / WarmupSteps;
        }

        var decaySteps = Math.Max(1, TotalSteps - WarmupSteps);
        var progress = Math.Clamp((double)(step - WarmupSteps) / decaySteps, 0, 1);
        return MinimumRate + (0.5 * (BaseRate - MinimumRate) * (1 + Math.Cos(Math.PI * progress)));
    }
}
