namespace Cct.Gpu.Model;

/// <summary>torch.nn.Linear(In, Out): weight (Out, In) and, with <see cref="HasBias"/>, bias (Out).</summary>
internal sealed record LinearSpec(string Name, int In, int Out, bool HasBias)
{
    /// <summary>The weight (Out, In).</summary>
    public TensorSpec Weight => new(Name + ".weight", [Out, In], TensorInit.TruncatedNormal);

    /// <summary>The bias (Out); null without one.</summary>
    public TensorSpec? Bias => HasBias ? new(Name + ".bias", [Out]) : null;

    /// <summary>Weight then bias, in state_dict order.</summary>
    public IEnumerable<TensorSpec> Parameters => Bias is { } bias ? [Weight, bias] : [Weight];
}
