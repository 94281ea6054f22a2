namespace Cct.Gpu.Gemm;

/// <summary>
/// The output tile of one group: GroupSide² threads, each owning Fragments² blocks of 4x4 outputs, so Side =
/// GroupSide·4·Fragments. A type argument of the kernel, so the sizes are constants there.
/// </summary>
internal interface IGemmTile
{
    int GroupSide { get; }

    int Fragments { get; }
}
