namespace Cct.Gpu.Gemm;

/// <summary>A dense operand read through inverted dropout (attention's probabilities), hashed on the element's view index.</summary>
internal struct Dropped<TOperand> : IGemmElements
    where TOperand : struct, IStridedOperand
{
    public readonly TOperand Operand;
    private readonly GemmDropout dropout;
    private ResolvedDropout resolved;

    public Dropped(TOperand operand, GemmDropout dropout)
    {
        Operand = operand;
        this.dropout = dropout;
        resolved = default;
    }

    public readonly bool AlongK => Operand.AlongK;

    public readonly long Offset(int z) => Operand.Offset(z);

    // With the key's step read per element (RngKey.StepCell) the K loop went from 363 to 411 instructions, 35.3 to
    // 31.1 % FFMA (ptx report), and with only the step read here to 391, as ptxas then hashed (seed, stream, step) per
    // element; with the hash's prefix computed here the loop is as before.
    public void ReadStepValues() => resolved = dropout.Resolved();

    /// <inheritdoc/>
    public readonly Float4 LoadSlice(long offset, MatMul.SlicePlacement place, int row0, int rows, int k0, int kEnd) => MatMul.LoadEach(this, offset, place, row0, rows, k0, kEnd);

    public readonly float Load(long offset, int row, int k) => resolved.Apply(Operand.IndexOf(offset, row, k), Operand.Load(offset, row, k));
}
