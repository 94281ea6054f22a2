namespace Cct.Gpu.Analysis;

/// <summary>Dimensions of one rollout step: attention probabilities (Batch, Heads, Tokens, Tokens).</summary>
internal readonly record struct RolloutShape(int Batch, int Heads, int Tokens);
