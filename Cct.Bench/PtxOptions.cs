namespace Cct.Bench;

/// <summary>The "ptx" mode's command line.</summary>
internal sealed record PtxOptions(string Ptxas, string Cuobjdump, string OutputDirectory, string? DocPath, bool Check, double MinFfmaShare, double MinFfmaShareEvery, double MinFusedFfmaShare = 0, string? Only = null);
