namespace Cct.Gpu.Model;

/// <summary>How the tokens become one vector for the classifier.</summary>
public enum PoolingKind
{
    /// <summary>SeqPool: softmax over tokens of Linear(d, 1), then the weighted sum of tokens.</summary>
    Seq,

    /// <summary>Mean over tokens.</summary>
    Mean,
}
