namespace Cct.Gpu.Runtime;

/// <summary>
/// How a device computes a model's Linear products (its matrix multiplies), as PyTorch's
/// <c>torch.set_float32_matmul_precision</c> does for a process, and on CUDA its fused attention's products where the
/// head size is 64. Every other kernel computes in fp32 whatever the setting.
/// </summary>
public enum GemmPrecision
{
    /// <summary>fp32 fused multiply-adds: the default, and the only precision of the CPU accelerator and OpenCL.</summary>
    Fp32,

    /// <summary>
    /// 3xTF32 on CUDA tensor cores (compute capability 8.0 or later), as CUTLASS's example 27: each operand is split into
    /// a TF32 big part and a TF32 small part and three products are summed, which keeps fp32's accuracy. The tensor cores
    /// truncate their sums, so at most 768 terms are summed on them before fp32 takes over: a Linear with more than 768
    /// features in or out runs in fp32. Fused attention runs on them too where the head size is 64, in 3xTF32.
    /// </summary>
    Tf32x3,

    /// <summary>
    /// TF32 on CUDA tensor cores (compute capability 8.0 or later): operands rounded to TF32's 10-bit mantissa, sums in fp32,
    /// as PyTorch with <c>torch.backends.cuda.matmul.allow_tf32 = True</c>. About 5e-4 relative error a product. Fused
    /// attention, where the head size is 64, runs on the tensor cores in 3xTF32 (as exact as fp32), as in <see cref="Tf32x3"/>.
    /// </summary>
    Tf32,

    /// <summary>
    /// bfloat16 operands on CUDA tensor cores (compute capability 8.0 or later), sums in fp32, as PyTorch's bf16 autocast
    /// does for its matrix multiplies: operands rounded to 8 significant bits (2⁻⁸ an operand), up to 2⁻⁷ ≈ 8e-3 relative
    /// error a product. Fused attention runs on them too where the head size is 64 (q, k, v, the probabilities and their
    /// gradients in bfloat16, softmax and sums in fp32).
    /// </summary>
    Bf16,
}
