namespace Cct.Gpu.Model;

/// <summary>
/// A dropout (or drop-path) site of the model: its configured rate and its RNG stream, a base per kind of site plus the
/// layer's index, so every site draws its own masks.
/// </summary>
internal readonly record struct DropoutSite(float Rate, uint Stream)
{
    /// <summary>Dropout after tokenizer stage <paramref name="stage"/>'s ReLU: stream 1000 + i.</summary>
    public static DropoutSite Tokenizer(float rate, int stage) => new(rate, 1000 + (uint)stage);

    /// <summary>Dropout on block <paramref name="block"/>'s attention probabilities: stream 2000 + j.</summary>
    public static DropoutSite Attention(float rate, int block) => new(rate, 2000 + (uint)block);

    /// <summary>Drop-path of block <paramref name="block"/>'s attention branch: stream 3000 + j.</summary>
    public static DropoutSite AttentionDropPath(float rate, int block) => new(rate, 3000 + (uint)block);

    /// <summary>Drop-path of block <paramref name="block"/>'s MLP branch: stream 4000 + j.</summary>
    public static DropoutSite MlpDropPath(float rate, int block) => new(rate, 4000 + (uint)block);
}
