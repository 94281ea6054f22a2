namespace Cct.Bench;

/// <summary>Problem sizes: <see cref="Small"/> runs in seconds on the CPU simulator; <see cref="Cct"/> is CCT-7/3x1 training on a GPU.</summary>
internal enum BenchSize
{
    Small,
    Cct,
}
