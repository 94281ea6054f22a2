namespace Cct.Training.Reports;

/// <summary>Attention maps of chosen samples, for attention.png.</summary>
/// <param name="Samples">sample indices (M)</param>
/// <param name="Maps">one map per chosen sample on the token grid, row-major (M, GridSide, GridSide)</param>
/// <param name="GridSide">tokens per side</param>
/// <param name="MapName">what the maps are, for the header</param>
internal sealed record AttentionSamples(int[] Samples, float[] Maps, int GridSide, string MapName);
