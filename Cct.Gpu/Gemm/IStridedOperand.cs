namespace Cct.Gpu.Gemm;

/// <summary>A strided dense operand: its element (row, k) is one view element, whose index dropout hashes.</summary>
internal interface IStridedOperand : IGemmElements
{
    long IndexOf(long offset, int row, int k);
}
