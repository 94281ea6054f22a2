namespace Cct.Gpu.Gemm;

/// <summary>An operand read element by element: its <see cref="IGemmOperand.LoadSlice"/> is <see cref="MatMul.LoadEach"/>.</summary>
internal interface IGemmElements : IGemmOperand
{
    /// <summary>Element (row, k) of the product starting at <paramref name="offset"/>; row and k lie inside the operand.</summary>
    float Load(long offset, int row, int k);
}
