namespace Cct.Gpu.Model;

/// <summary>A tensor of the model by its PyTorch state_dict name, with its shape and how it is initialised.</summary>
internal sealed record TensorSpec(string Name, int[] Shape, TensorInit Init = TensorInit.Zeros)
{
    /// <summary>Number of values.</summary>
    public long Length => Shape.Aggregate(1L, (a, b) => a * b);
}
