namespace Cct.Gpu.Model;

/// <summary>torch.nn.LayerNorm(Dim): weight and bias (Dim).</summary>
internal sealed record LayerNormSpec(string Name, int Dim)
{
    /// <summary>The scale (Dim).</summary>
    public TensorSpec Weight => new(Name + ".weight", [Dim], TensorInit.Ones);

    /// <summary>The shift (Dim).</summary>
    public TensorSpec Bias => new(Name + ".bias", [Dim]);

    /// <summary>Weight then bias, in state_dict order.</summary>
    public IEnumerable<TensorSpec> Parameters => [Weight, Bias];
}
