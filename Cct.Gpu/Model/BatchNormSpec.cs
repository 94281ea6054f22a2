namespace Cct.Gpu.Model;

/// <summary>torch.nn.BatchNorm2d(Channels): weight and bias, and the running statistics it saves as buffers.</summary>
internal sealed record BatchNormSpec(string Name, int Channels)
{
    /// <summary>Weight then bias (Channels).</summary>
    public IEnumerable<TensorSpec> Parameters => [Weight, Bias];

    /// <summary>Running mean then running variance (Channels).</summary>
    public IEnumerable<TensorSpec> Buffers => [RunningMean, RunningVar];

    /// <summary>The scale (Channels).</summary>
    public TensorSpec Weight => new(Name + ".weight", [Channels], TensorInit.Ones);

    /// <summary>The shift (Channels).</summary>
    public TensorSpec Bias => new(Name + ".bias", [Channels]);

    /// <summary>The running mean (Channels).</summary>
    public TensorSpec RunningMean => new(Name + ".running_mean", [Channels]);

    /// <summary>The running variance (Channels).</summary>
    public TensorSpec RunningVar => new(Name + ".running_var", [Channels], TensorInit.Ones);
}
