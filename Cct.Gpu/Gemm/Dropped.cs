namespace Cct.Gpu.Gemm;

/// <summary>A dense operand read through inverted dropout (attention's probabilities), hashed on the element's view index.</summary>
internal readonly struct Dropped<TOperand> : IGemmOperand
    where TOperand : struct, IStridedOperand
{
    public readonly TOperand Operand;
    public readonly GemmDropout Dropout;

    public Dropped(TOperand operand, GemmDropout dropout)
    {
        Operand = operand;
        Dropout = dropout;
    }

    public bool AlongK => Operand.AlongK;

    public long Offset(int z) => Operand.Offset(z);

    public float Load(long offset, int row, int k) => Dropout.Apply(Operand.IndexOf(offset, row, k), Operand.Load(offset, row, k));
}
