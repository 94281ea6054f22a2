namespace Cct.Gpu.Model;

/// <summary>
/// Where a model looks at one image, on the token grid (GridSide × GridSide, row-major, token t at row
/// t / GridSide, column t % GridSide of the tokenizer's output).
/// </summary>
/// <param name="GridSide">tokens per side of the grid (7 for cct-2/3x2, 14 for cct-7/3x1 and seed)</param>
/// <param name="Pooling">sequence-pooling weights over the tokens, a softmax that sums to 1 (T); uniform 1/T for mean pooling</param>
/// <param name="Rollout">attention rollout of the pooling weights back through every block to the input tokens, summing to 1 (T)</param>
/// <param name="Probabilities">class probabilities of the image (Classes)</param>
public sealed record AttentionMap(int GridSide, float[] Pooling, float[] Rollout, float[] Probabilities);
