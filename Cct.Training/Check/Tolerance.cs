using System.Globalization;
using Cct.Gpu.Runtime;

namespace Cct.Training.Check;

/// <summary>
/// The bound one compared element must meet: |actual − reference| ≤ Atol + Rtol·|reference|. It is Cct's one tolerance
/// scheme: <c>cct check</c>, the bench's kernel cases (the same registry) and the tests' Compare all hold outputs to one.
/// Inputs of <see cref="KernelCases"/> are uniform in [−1, 1] (a few scaled up), so the absolute
/// parts are in units of the data.
/// </summary>
/// <param name="Name">what the bound is for, e.g. "elementwise"</param>
/// <param name="Atol">the absolute part</param>
/// <param name="Rtol">the part relative to |reference|</param>
public readonly record struct Tolerance(string Name, double Atol, double Rtol)
{
    /// <summary>
    /// Integer outputs (argmax indices, gathered labels): the same inputs must give the same integers.
    /// </summary>
    internal static Tolerance Exact { get; } = new("exact", 0, 0);

    /// <summary>
    /// One value per output from a few float operations (add, multiply, divide, sqrt, exp). A GPU may
    /// fuse a multiply-add into an FMA (one rounding instead of two) and its exp/erf differ by an ulp or
    /// two, so results differ by a few ulps, i.e. ~1e-7 relative; 1e-5 + 1e-4·|ref| leaves ~100x margin
    /// and still catches a wrong index or mask, which errs by O(1).
    /// </summary>
    internal static Tolerance Elementwise { get; } = new("elementwise", 1e-5, 1e-4);

    /// <summary>
    /// Sums of up to a few hundred terms (dot products over channels or tokens, softmax, LayerNorm rows,
    /// gradients summed over 196 rows). Both devices sum in the same order inside one thread, but FMA
    /// contraction rounds every step differently: over n terms whose partial sums are S the difference
    /// random-walks to ~√n·6e-8·S ≈ 1e-6 for n = 200, S = 10, and reaches ~1e-5 in the worst case;
    /// a result near zero can still carry that absolute error, hence atol 1e-4.
    /// </summary>
    internal static Tolerance Reduction { get; } = new("reduction", 1e-4, 1e-4);

    /// <summary>
    /// A sum of <paramref name="terms"/> products, as in a GEMM over K or a weight gradient over rows. Up to 3,136
    /// terms it is <see cref="Reduction"/>, which the H200 meets there (the matmul 96x32x3136 row, split over K).
    /// Beyond, two summation orders differ by a random walk of roundings that grows with n (≈ u·σ·n/√2 for terms of
    /// spread σ), so the absolute part grows in proportion, keeping its margin: 1e-4·n/3136 + 1e-4·|ref|. A wrong
    /// index errs by O(σ·√n), still far outside. The bench's timed cases at CCT-7/3x1's shapes (25,088 rows) use it.
    /// </summary>
    internal static Tolerance SumOver(long terms)
        => terms <= 3136 ? Reduction : new($"sum of {terms}", 1e-4 * terms / 3136, 1e-4);

    /// <summary>
    /// A sum of <paramref name="terms"/> products on TF32 tensor cores in 3xTF32 (Cct.Gpu's TensorCoreGemm) against an fp32
    /// GEMM: the same bound as <see cref="SumOver"/>. Each x is split into big = tf32(x), within 2⁻¹¹·|x| (10 mantissa bits,
    /// round to nearest), and small = tf32(x − big), within 2⁻¹¹·|x − big| ≤ 2⁻²²·|x|; a·b is summed as small·big +
    /// big·small + big·big, so it misses a's and b's residuals and the dropped small·small, ≲ 3·2⁻²² ≈ 7e-7 of |a·b| — about
    /// ten fp32 roundings (u ≈ 6e-8). Over n terms of spread σ (≈ 0.33 for the cases' uniform [−1, 1] inputs) these
    /// errors random-walk to ≈ √n·7e-7·σ: 4e-6 for n = 256, 1.3e-5 for n = 3,136, a tenth of SumOver's 1e-4 there. The
    /// tensor cores' own sums are the larger part: each mma truncates toward zero (Khattak and Mikaitis' H100 and A100
    /// models), three times a k step, so that error grows with n; TensorCoreGemm therefore sums at most
    /// <see cref="Cct.Gpu.Gemm.TensorCoreGemm.MaxChain"/> = 768 terms on them before fp32 adds take over, where the
    /// modelled H100 uses up to 0.72 of this bound and the A100 0.94 over uniform inputs (tools/tensorcore-accuracy.py;
    /// at 256 terms, more than fused attention's longest chain of 224, 0.12 and 0.17). A wrong fragment index errs by O(σ·√n), and plain
    /// TF32 (no small parts) by ≈ √n·2⁻¹¹·σ ≈ 3e-3 at n = 256: both far outside.
    /// </summary>
    internal static Tolerance ThreeTf32Sum(long terms) => SumOver(terms) with { Name = $"3xTF32 sum of {terms}" };

    /// <summary>
    /// A sum of <paramref name="terms"/> products on TF32 tensor cores (operands rounded to 10 mantissa bits, Cct.Gpu's
    /// TensorCoreGemm in <see cref="GemmPrecision.Tf32"/>) against an fp32 GEMM. Rounding a and b each errs by up to 2⁻¹¹
    /// relative, so a product by up to 2⁻¹⁰ ≈ 1e-3 of |a·b|, with random sign; over n terms of spread σ ≈ 0.33 (the cases'
    /// uniform [−1, 1] inputs) that random-walks to ≈ √n·2⁻¹⁰·σ/√3 (a uniform error's spread): 1e-3 at n = 256, 1e-2 at
    /// n = 25,088. The bound is six of those spreads (atol 1e-3·√n, about 6·√n·2⁻¹⁰·0.33/√3) and 2⁻⁹ relative: a wrong
    /// fragment index errs by O(σ·√n), thirty times more.
    /// </summary>
    internal static Tolerance Tf32Sum(long terms) => new($"TF32 sum of {terms}", 1e-3 * Math.Sqrt(terms), 2e-3);

    /// <summary>
    /// A sum of <paramref name="terms"/> products of bfloat16 operands (8 significant bits, round to nearest even: up to 2⁻⁸
    /// an operand, 2⁻⁷ ≈ 8e-3 a product) summed in fp32, against an fp32 GEMM: eight times TF32's bound, the ratio of their
    /// roundings (2⁻⁸ against 2⁻¹¹). tools/tensorcore-emulate.py measures 1.8e-2 over 36 terms of uniform [−1, 1] inputs and
    /// 4.2e-2 over 200, against bounds of 4.8e-2 and 1.1e-1.
    /// </summary>
    internal static Tolerance Bf16Sum(long terms) => new($"bf16 sum of {terms}", 8e-3 * Math.Sqrt(terms), 1.6e-2);

    /// <summary>
    /// Fused attention on bf16 tensor cores (Cct.Gpu's TensorCoreFlashAttention: q, k, v, doutput, each step's
    /// probabilities and dS rounded to bfloat16 for the forward's two products and the backward's five, sums in fp32)
    /// against the fp32 kernels. A float64 model of exactly those roundings (the check's inputs: qkv uniform in [−2, 2],
    /// doutput in [−1, 1], p = 0.1) errs by at most 7.2e-3 in the output and 4.9e-3 in dqkv at 49 tokens, 4.2e-3 and
    /// 3.7e-3 at 196; the bound is 2.5e-2 plus bf16's product rounding 2⁻⁶ relative, 3.5
    /// to 5 times that. A wrong fragment, mask or dropout element errs by 1e-2 to 1 (tools/flash-attention-emulate.py).
    /// </summary>
    internal static Tolerance Bf16Attention { get; } = new("bf16 attention", 2.5e-2, 1.6e-2);

    /// <summary>The bound for a Linear's product of <paramref name="terms"/> terms in <paramref name="precision"/>: fp32 and 3xTF32 share <see cref="SumOver"/>.</summary>
    internal static Tolerance Products(long terms, GemmPrecision precision) => precision switch
    {
        GemmPrecision.Tf32 => Tf32Sum(terms),
        GemmPrecision.Bf16 => Bf16Sum(terms),
        GemmPrecision.Tf32x3 => ThreeTf32Sum(terms),
        _ => SumOver(terms),
    };

    /// <summary>
    /// Sums of thousands of terms: BatchNorm statistics and gradients over B·H·W = 3,136 values per
    /// channel, conv weight gradients over batch × output positions. Partial sums reach ~20, so the
    /// per-step rounding differences (~1e-6) accumulate to ~1e-4 in the worst case; 1e-3 + 1e-3·|ref|.
    /// </summary>
    internal static Tolerance LongReduction { get; } = new("long reduction", 1e-3, 1e-3);

    /// <summary>
    /// The whole model against PyTorch's float64 run, and the default of the tests' Compare.AssertClose: the bound
    /// the CPU accelerator meets on every logit, gradient and parameter.
    /// </summary>
    internal static Tolerance Model { get; } = new("model", 1e-5, 1e-4);

    internal bool Allows(double error, double reference) => error <= Atol + (Rtol * Math.Abs(reference));

    /// <summary>
    /// Below this magnitude the absolute part of the bound dominates, so the reported relative error
    /// divides by it instead of by a reference near zero (which would make any noise look huge).
    /// </summary>
    public double RelativeFloor => Rtol > 0 ? Math.Max(Atol / Rtol, 1e-30) : 1e-30;

    /// <summary>The bound as the check's table prints it: "exact", or "atol + rtol·|ref|".</summary>
    public override string ToString()
        => Atol == 0 && Rtol == 0 ? "exact" : Rtol == 0 ? Short(Atol) : $"{Short(Atol)} + {Short(Rtol)}·|ref|";

    private static string Short(double value) => value == 0 ? "0" : value.ToString("0.#e+0", CultureInfo.InvariantCulture);
}
