namespace Cct.Training.Training;

/// <summary>
/// The learning rate of every optimizer step. <see cref="LearningRateScheduleKind.Cosine"/> and
/// <see cref="LearningRateScheduleKind.Constant"/>: linear warmup from base/warmupSteps to the base rate, then cosine
/// decay to <see cref="MinimumRate"/> over the remaining steps (timm's cosine scheduler with warmup, per step rather than
/// per epoch; a constant schedule passes <see cref="long.MaxValue"/> as the total, so it never decays).
/// <see cref="LearningRateScheduleKind.OneCycle"/>: see <see cref="OneCycleAt"/>.
/// </summary>
internal sealed record LearningRateSchedule(double BaseRate, long WarmupSteps, long TotalSteps, double MinimumRate = 1e-6, LearningRateScheduleKind Kind = LearningRateScheduleKind.Cosine)
{
    /// <summary>Where the one-cycle rate starts, as a fraction of the peak (airbench's 0.2).</summary>
    public const double OneCycleStart = 0.2;

    /// <summary>The one-cycle peak's position without warmup epochs, as a fraction of the run.</summary>
    public const double OneCyclePeak = 0.25;

    /// <summary>The schedule <paramref name="options"/> asks for over <paramref name="batchesPerEpoch"/> steps an epoch.</summary>
    public static LearningRateSchedule For(TrainOptions options, int batchesPerEpoch)
    {
        var total = (long)options.Epochs * batchesPerEpoch;
        var warmup = (long)options.WarmupEpochs * batchesPerEpoch;
        return options.Schedule switch
        {
            LearningRateScheduleKind.Constant => new LearningRateSchedule(options.LearningRate, warmup, long.MaxValue),
            LearningRateScheduleKind.OneCycle => new LearningRateSchedule(options.LearningRate, warmup > 0 ? warmup : (long)Math.Round(OneCyclePeak * total), total, 0, LearningRateScheduleKind.OneCycle),
            _ => new LearningRateSchedule(options.LearningRate, warmup, total),
        };
    }

    /// <summary>The rate for optimizer step <paramref name="step"/> (0-based).</summary>
    public double At(long step)
    {
        if (Kind == LearningRateScheduleKind.OneCycle)
        {
            return OneCycleAt(step);
        }

        if (step < WarmupSteps)
        {
            return BaseRate * (step + 1) / WarmupSteps;
        }

        var decaySteps = Math.Max(1, TotalSteps - WarmupSteps);
        var progress = Math.Clamp((double)(step - WarmupSteps) / decaySteps, 0, 1);
        return MinimumRate + (0.5 * (BaseRate - MinimumRate) * (1 + Math.Cos(Math.PI * progress)));
    }

    /// <summary>
    /// The triangle with its peak P = <see cref="WarmupSteps"/> of T = <see cref="TotalSteps"/>: base·(0.2 + 0.8·s/P) for
    /// s &lt; P, then base·(T − s)/(T − P), which is base at the peak and reaches 0 one step after the last (no step
    /// trains at rate 0). Steps past the end stay at 0.
    /// </summary>
    private double OneCycleAt(long step)
    {
        var peak = Math.Clamp(WarmupSteps, 0, Math.Max(0, TotalSteps - 1));
        if (step < peak)
        {
            return BaseRate * (OneCycleStart + ((1 - OneCycleStart) * step / peak));
        }

        return BaseRate * Math.Max(0, TotalSteps - step) / Math.Max(1, TotalSteps - peak);
    }
}
