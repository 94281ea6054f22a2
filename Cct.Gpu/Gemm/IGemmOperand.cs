namespace Cct.Gpu.Gemm;

/// <summary>
/// How the blocked GEMM kernel reads one operand, as a (rows, K) matrix: element (m, k) of op(A), or element
/// (n, k) of op(B)ᵀ, for product z. Structs implementing it are type arguments of the kernel (ILGPU's
/// GenericKernel sample), so each closed kernel has its gather inlined and no switch over the operand kinds.
/// </summary>
internal interface IGemmOperand
{
    /// <summary>Whether consecutive k are adjacent in memory: the group then loads a slice along k, else along rows, so loads coalesce.</summary>
    bool AlongK { get; }

    /// <summary>Where product z starts; once per group.</summary>
    long Offset(int z);

    /// <summary>
    /// Reads what the operand keeps in device memory for the step (a dropout key's step, <see cref="Runtime.RngKey.StepCell"/>)
    /// into itself, once per group before the K loop; nothing for most operands.
    /// </summary>
    void ReadStepValues();

    /// <summary>
    /// The thread's four elements (<paramref name="place"/>) of the slice at k0 of the product starting at
    /// <paramref name="offset"/>, for the tile's rows from <paramref name="row0"/> of <paramref name="rows"/>; zero for a
    /// row past the operand or a k at or past <paramref name="kEnd"/>, with every read inside the operand. k0 is a multiple
    /// of <see cref="MatMul.TileK"/>. Most operands read element by element (<see cref="MatMul.LoadEach"/>); a gather
    /// whose four elements share work reads them together (<see cref="TapMajorUnfoldedInput"/>).
    /// </summary>
    Float4 LoadSlice(long offset, MatMul.SlicePlacement place, int row0, int rows, int k0, int kEnd);
}
