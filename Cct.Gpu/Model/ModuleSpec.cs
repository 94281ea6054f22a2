namespace Cct.Gpu.Model;

/// <summary>
/// One module of a <see cref="CctArchitecture"/>: the tensors it holds and its rows of the `cct summary` table
/// (layer, output shape for one image, parameters).
/// </summary>
internal abstract record ModuleSpec
{
    /// <summary>Trainable tensors, in state_dict order.</summary>
    public abstract IEnumerable<TensorSpec> Parameters { get; }

    /// <summary>Saved non-trainable tensors (BatchNorm running statistics, a fixed sine embedding).</summary>
    public virtual IEnumerable<TensorSpec> Buffers => [];

    /// <summary>The module's rows of the summary table.</summary>
    public abstract IEnumerable<SummaryRow> SummaryRows { get; }

    private protected static string Shape(params int[] dims) => "(" + string.Join(", ", dims) + ")";
}
