namespace Cct.Gpu.Model;

/// <summary>How token positions enter the model.</summary>
public enum PositionalEmbeddingKind
{
    /// <summary>A learned (1, T, Dim) embedding added to the tokens (official CCT, the seed notebook).</summary>
    Learnable,
    /// <summary>A fixed sinusoidal embedding (the official "sine" option).</summary>
    Sine,
    /// <summary>No positional information beyond what the convolutions leave.</summary>
    None,
}
