using ILGPU;

namespace Cct.Gpu.Gemm;

/// <summary>Dense operand with rows contiguous: element (row, k) at offset + k·Ld + row. op(A) of a transposed A, op(B)ᵀ of an untransposed B.</summary>
internal readonly struct ColumnMajor : IStridedOperand
{
    public readonly ArrayView<float> View;
    public readonly int Ld;
    public readonly int Heads;
    public readonly long Batch;
    public readonly long Head;

    public ColumnMajor(ArrayView<float> view, int ld, int heads, long batch, long head)
    {
        View = view;
        Ld = ld;
        Heads = heads;
        Batch = batch;
        Head = head;
    }

    public bool AlongK => false;

    public long Offset(int z) => ((long)(z / Heads) * Batch) + ((long)(z % Heads) * Head);

    /// <inheritdoc/>
    public void ReadStepValues()
    {
    }

    public long IndexOf(long offset, int row, int k) => offset + ((k * Ld) + row);

    /// <inheritdoc/>
    public Float4 LoadSlice(long offset, MatMul.SlicePlacement place, int row0, int rows, int k0, int kEnd) => MatMul.LoadEach(this, offset, place, row0, rows, k0, kEnd);

    public float Load(long offset, int row, int k) => View[IndexOf(offset, row, k)];
}
