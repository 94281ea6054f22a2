namespace Cct.Gpu.Gemm;

/// <summary>How the GPU kernel reads its operands: dense views, or a convolution's operands gathered on the fly (implicit GEMM).</summary>
internal enum GemmOperands
{
    /// <summary>A and B are (strided) matrices as <see cref="GemmLayout"/> describes.</summary>
    Dense,

    /// <summary>Product z is image z: output (Cout, Ho·Wo) = weight (Cout, Cin·K·K) · unfolded input (Cin·K·K, Ho·Wo).</summary>
    ConvForward,

    /// <summary>Product z is image z: dinput (Cin, H·W) += weight taps (Cin, Cout·K·K) · doutput taps (Cout·K·K, H·W).</summary>
    ConvInputGradient,

    /// <summary>One product over the batch: dweight (Cout, Cin·K·K) += doutput (Cout, B·Ho·Wo) · unfolded inputᵀ (B·Ho·Wo, Cin·K·K).</summary>
    ConvWeightGradient,
}
