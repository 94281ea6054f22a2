namespace Cct.Gpu.Layers;

/// <summary>Dimensions of an NCHW batch-norm input: Spatial = H·W.</summary>
internal readonly record struct BatchNormShape(int Batch, int Channels, int Spatial)
{
    /// <summary>Elements per channel that the statistics reduce over.</summary>
    public int PerChannel => Batch * Spatial;

    public long Index(int b, int c, int s) => ((((long)b * Channels) + c) * Spatial) + s;
}
