using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Gemm;

/// <summary>
/// c (M, N) = a (M, K) · b (N, K)ᵀ on CUDA tensor cores in 3xTF32: fp32 accuracy from TF32 mma.sync, as in CUTLASS's
/// example 27. Each input x is split once, as it is staged into shared memory, into big = tf32(x) and small = tf32(x − big),
/// and every product is summed as small·big + big·small + big·big (the small·small term, ~2⁻²² relative, is dropped), so a
/// product loses about what a few fp32 roundings lose. CUDA only: the kernel is inline PTX (<see cref="CudaAsm"/>), which
/// ILGPU's OpenCL backend silently drops and the CPU accelerator cannot run (<see cref="TensorCoreKernelsAttribute"/>). Not yet on the
/// model's training path: that waits for GPU timings against <see cref="MatMul"/>'s fp32 tiles.
/// </summary>
/// <remarks>
/// Why the kernel is written as it is (each point measured in SASS with ILGPU 1.5.3 and ptxas 11.8): fragments and
/// accumulators held in C# variables and passed to <c>CudaAsm.EmitRef</c> live in local memory (a 40-byte stack frame, 24
/// LDL/STL per mma), so no value the tensor cores touch ever passes through ILGPU. One asm statement declares the
/// accumulators (and the next slice's registers) as PTX registers and the shared tiles as a PTX <c>.shared</c> array; a K
/// step is three asm statements (the staging, which splits and stores the slice; the next slice's loads; the fragment loads
/// with all of the warp's mma); the epilogue stores straight from the accumulators. Only by-value 32- and
/// 64-bit integers (byte offsets, global addresses) cross from C# into the asm, and nothing comes back out.
/// </remarks>
[TensorCoreKernels]
internal sealed class TensorCoreGemm
{
    /// <summary>Rows of a (and of c) per group.</summary>
    public const int TileM = 128;

    /// <summary>Rows of b (columns of c) per group.</summary>
    public const int TileN = 128;

    /// <summary>K values staged in shared memory per step (two mma k-steps of 8).</summary>
    public const int TileK = 16;

    /// <summary>Threads per group: 8 warps, 2 along M by 4 along N, each computing a 64x32 block of the tile.</summary>
    public const int Threads = 256;

    // Two groups per SM cap ptxas at 65,536 / (2 · 256) = 128 registers a thread: it fits the 64 accumulators, 48
    // fragment registers, 16 for the next slice and the addresses in 126 with no spill (144 with one group per SM, which
    // would leave 8 warps an SM). Even 16 warps are few to hide latency with, so the next slice's global loads are
    // issued before the step's mma (register prefetch).
    private const int GroupsPerMultiprocessor = 2;

    // The shared layout, in bytes, as the asm strings hard-code it: four (128, SharedStride) fp32 arrays, [row][k] with
    // k contiguous as in global memory: a's big parts at 0, a's small parts at 10,240, b's big at 20,480, b's small at 30,720.
    // Rows are padded from 16 to 20 floats (80 bytes) so that ldmatrix's eight 16-byte row reads of one 8x8 matrix fall
    // on eight distinct groups of four banks (80·r mod 128 = 0, 80, 32, 112, 64, 16, 96, 48).
    private const int SharedStride = 20;
    private const int RowBytes = SharedStride * sizeof(float);
    private const int SmallOffset = TileM * RowBytes;
    private const int BOffset = 2 * SmallOffset;

    private readonly Action<KernelConfig, long, long, long, int, int, int> kernel;

    private TensorCoreGemm(ComputeDevice device)
        => kernel = device.Accelerator.LoadStreamKernel<long, long, long, int, int, int>(Kernel, Specialization);

    /// <summary>The specialisation the kernel is loaded with, and compiled with by the PTX report: its group size and register cap.</summary>
    internal static KernelSpecialization Specialization { get; } = new(Threads, GroupsPerMultiprocessor);

    /// <summary>The kernel on <paramref name="device"/>, which must be a CUDA GPU: inline PTX compiles nowhere else.</summary>
    public static TensorCoreGemm For(ComputeDevice device)
        => device.Profile.Class == DeviceClass.CudaGpu
            ? device.Kernels(static d => new TensorCoreGemm(d))
            : throw new NotSupportedException($"TensorCoreGemm runs only on a CUDA GPU (inline PTX), not on {device.Profile.Class}");

    /// <summary>
    /// c (m, n) = a (m, k) · b (n, k)ᵀ, all row-major and packed. There is no edge handling yet: m and n must be multiples of
    /// 128 and k of 16, and a and b must start on 16 bytes and c on 8 (a whole buffer does), since the global accesses are
    /// 16- and 8-byte vectors; c must not overlap a or b (they are read through the non-coherent cache).
    /// </summary>
    public void Run(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, int m, int n, int k)
    {
        CheckShape(m, n, k);
        if (a.Length < (long)m * k || b.Length < (long)n * k || c.Length < (long)m * n)
        {
            throw new ArgumentException($"TensorCoreGemm {m}x{n}x{k}: a view is shorter than its matrix (a {a.Length}, b {b.Length}, c {c.Length})");
        }

        var (cAt, aAt, bAt) = (Address(c), Address(a), Address(b));
        if (aAt % 16 != 0 || bAt % 16 != 0 || cAt % 8 != 0)
        {
            throw new ArgumentException("TensorCoreGemm: a and b must start on 16 bytes and c on 8");
        }

        kernel(new KernelConfig(new Index3D(n / TileN, m / TileM, 1), new Index3D(Threads, 1, 1)), cAt, aAt, bAt, m, n, k);
    }

    /// <summary>Throws unless m and n are positive multiples of 128 and k of 16: the kernel has no edge tiles yet.</summary>
    internal static void CheckShape(int m, int n, int k)
    {
        if (m <= 0 || n <= 0 || k <= 0 || m % TileM != 0 || n % TileN != 0 || k % TileK != 0)
        {
            throw new ArgumentException($"TensorCoreGemm needs m, n multiples of {TileM} and k of {TileK}, got {m}x{n}x{k}");
        }
    }

    // A view's device address, which the kernel's asm takes by value: ILGPU 1.5.3 has no way to take a view's address
    // inside a kernel (ArrayViewExtensions.LoadEffectiveAddress is host-only), so the host passes buffer base + offset.
    private static long Address(ArrayView<float> view)
    {
        IContiguousArrayView contiguous = view;
        return contiguous.Buffer.NativePtr.ToInt64() + contiguous.IndexInBytes;
    }

    // Group (x, y) computes c's 128x128 tile at rows 128·y, columns 128·x; warp w its 64x32 block at rows 64·(w / 4),
    // columns 32·(w % 4), as 4x4 mma tiles of 16x8. Each K step stages a (128, 16) slice of a and of b, split into big
    // and small TF32 parts, then runs two k-steps of 8: per warp 24 ldmatrix.x4 and 96 mma. c, a and b are the matrices'
    // device addresses (Address).
    private static void Kernel(long c, long a, long b, int m, int n, int k)
    {
        // Declares tc_smem (the four shared arrays), the accumulators tc_c0..63 (zeroed) and the next slice's registers
        // tc_x0..15: PTX registers ILGPU never sees.
        CudaAsm.Emit(InitAsm);
        var thread = Group.IdxX;
        var warp = thread / 32;
        var lane = thread % 32;
        var m0 = Grid.IdxY * TileM;
        var n0 = Grid.IdxX * TileN;

        // Staging: thread t loads 4 consecutive k (16 bytes) of rows t/4 and t/4 + 64 of each slice, so four threads read
        // one row's 64 contiguous bytes; it stores them at the same place in shared memory.
        var row = thread / 4;
        var quad = 4 * (thread % 4);
        var store = (row * RowBytes) + (quad * sizeof(float));
        var aRow = a + ((((long)(m0 + row) * k) + quad) * sizeof(float));
        var bRow = b + ((((long)(n0 + row) * k) + quad) * sizeof(float));
        var below = 64L * k * sizeof(float);

        // Fragments: ldmatrix.x4 takes one row address from each lane, lanes 8q .. 8q+7 giving matrix q's eight rows. For a
        // (16 rows, 8 k) A fragment the matrices are rows 0-7 / 8-15 at k 0-3, then at k 4-7 (registers a0..a3 of mma's
        // row-major layout); for a pair of (8 k, 8 n) B fragments they are n 0-7 at k 0-3 / 4-7, then n 8-15 (b0, b1 of
        // each). A 32-bit tf32 element is two b16, so each lane receives element (lane / 4, lane % 4) of each matrix.
        var warpRow = 64 * (warp / 4);
        var warpColumn = 32 * (warp % 4);
        var aFragment = (((warpRow + (lane % 8) + (8 * ((lane / 8) % 2))) * SharedStride) + (4 * (lane / 16))) * sizeof(float);
        var bFragment = BOffset + ((((warpColumn + (lane % 8) + (8 * (lane / 16))) * SharedStride) + (4 * ((lane / 8) % 2))) * sizeof(float));
        CudaAsm.Emit(LoadAsm, aRow, aRow + below, bRow, bRow + below);
        for (var k0 = 0; k0 < k; k0 += TileK)
        {
            CudaAsm.Emit(StageAsm, store);
            Group.Barrier();

            // The next slice's loads go out before this step's mma, which hide their latency; the staging above has
            // consumed the registers they fill.
            if (k0 + TileK < k)
            {
                var next = (long)(k0 + TileK) * sizeof(float);
                CudaAsm.Emit(LoadAsm, aRow + next, aRow + below + next, bRow + next, bRow + below + next);
            }

            CudaAsm.Emit(StepAsm, aFragment, bFragment);
            Group.Barrier();
        }

        // Accumulator tile (i, j) (i < 4 down, j < 4 across) holds rows g, g + 8 and columns 2t, 2t + 1 of its 16x8 block,
        // g = lane / 4 and t = lane % 4: the asm walks rows g + 8·h (h < 8) from row g's address, 8 rows apart.
        var cRow = c + (((((long)(m0 + warpRow + (lane / 4))) * n) + n0 + warpColumn + (2 * (lane % 4))) * sizeof(float));
        CudaAsm.Emit(StoreAsm, cRow, 8L * n * sizeof(float));
    }

    // The inline PTX, generated once by tools/tensorcore-asm.py (unrolled: ILGPU takes only constant strings). Offsets are
    // the shared layout's bytes above: +10240 the small parts, +20480 b, +1280 sixteen rows further, +32 the second k-step
    // of 8, +5120 64 rows further.

    private const string InitAsm =
        ".shared .align 16 .b8 tc_smem[40960];\n" +
        ".reg .f32 tc_c<64>;\n" +
        ".reg .f32 tc_x<16>;\n" +
        "mov.f32 tc_c0, 0f00000000;\n" +
        "mov.f32 tc_c1, 0f00000000;\n" +
        "mov.f32 tc_c2, 0f00000000;\n" +
        "mov.f32 tc_c3, 0f00000000;\n" +
        "mov.f32 tc_c4, 0f00000000;\n" +
        "mov.f32 tc_c5, 0f00000000;\n" +
        "mov.f32 tc_c6, 0f00000000;\n" +
        "mov.f32 tc_c7, 0f00000000;\n" +
        "mov.f32 tc_c8, 0f00000000;\n" +
        "mov.f32 tc_c9, 0f00000000;\n" +
        "mov.f32 tc_c10, 0f00000000;\n" +
        "mov.f32 tc_c11, 0f00000000;\n" +
        "mov.f32 tc_c12, 0f00000000;\n" +
        "mov.f32 tc_c13, 0f00000000;\n" +
        "mov.f32 tc_c14, 0f00000000;\n" +
        "mov.f32 tc_c15, 0f00000000;\n" +
        "mov.f32 tc_c16, 0f00000000;\n" +
        "mov.f32 tc_c17, 0f00000000;\n" +
        "mov.f32 tc_c18, 0f00000000;\n" +
        "mov.f32 tc_c19, 0f00000000;\n" +
        "mov.f32 tc_c20, 0f00000000;\n" +
        "mov.f32 tc_c21, 0f00000000;\n" +
        "mov.f32 tc_c22, 0f00000000;\n" +
        "mov.f32 tc_c23, 0f00000000;\n" +
        "mov.f32 tc_c24, 0f00000000;\n" +
        "mov.f32 tc_c25, 0f00000000;\n" +
        "mov.f32 tc_c26, 0f00000000;\n" +
        "mov.f32 tc_c27, 0f00000000;\n" +
        "mov.f32 tc_c28, 0f00000000;\n" +
        "mov.f32 tc_c29, 0f00000000;\n" +
        "mov.f32 tc_c30, 0f00000000;\n" +
        "mov.f32 tc_c31, 0f00000000;\n" +
        "mov.f32 tc_c32, 0f00000000;\n" +
        "mov.f32 tc_c33, 0f00000000;\n" +
        "mov.f32 tc_c34, 0f00000000;\n" +
        "mov.f32 tc_c35, 0f00000000;\n" +
        "mov.f32 tc_c36, 0f00000000;\n" +
        "mov.f32 tc_c37, 0f00000000;\n" +
        "mov.f32 tc_c38, 0f00000000;\n" +
        "mov.f32 tc_c39, 0f00000000;\n" +
        "mov.f32 tc_c40, 0f00000000;\n" +
        "mov.f32 tc_c41, 0f00000000;\n" +
        "mov.f32 tc_c42, 0f00000000;\n" +
        "mov.f32 tc_c43, 0f00000000;\n" +
        "mov.f32 tc_c44, 0f00000000;\n" +
        "mov.f32 tc_c45, 0f00000000;\n" +
        "mov.f32 tc_c46, 0f00000000;\n" +
        "mov.f32 tc_c47, 0f00000000;\n" +
        "mov.f32 tc_c48, 0f00000000;\n" +
        "mov.f32 tc_c49, 0f00000000;\n" +
        "mov.f32 tc_c50, 0f00000000;\n" +
        "mov.f32 tc_c51, 0f00000000;\n" +
        "mov.f32 tc_c52, 0f00000000;\n" +
        "mov.f32 tc_c53, 0f00000000;\n" +
        "mov.f32 tc_c54, 0f00000000;\n" +
        "mov.f32 tc_c55, 0f00000000;\n" +
        "mov.f32 tc_c56, 0f00000000;\n" +
        "mov.f32 tc_c57, 0f00000000;\n" +
        "mov.f32 tc_c58, 0f00000000;\n" +
        "mov.f32 tc_c59, 0f00000000;\n" +
        "mov.f32 tc_c60, 0f00000000;\n" +
        "mov.f32 tc_c61, 0f00000000;\n" +
        "mov.f32 tc_c62, 0f00000000;\n" +
        "mov.f32 tc_c63, 0f00000000;\n";

    private const string LoadAsm =
        "ld.global.nc.v4.f32 {tc_x0, tc_x1, tc_x2, tc_x3}, [%0];\n" +
        "ld.global.nc.v4.f32 {tc_x4, tc_x5, tc_x6, tc_x7}, [%1];\n" +
        "ld.global.nc.v4.f32 {tc_x8, tc_x9, tc_x10, tc_x11}, [%2];\n" +
        "ld.global.nc.v4.f32 {tc_x12, tc_x13, tc_x14, tc_x15}, [%3];\n";

    private const string StageAsm =
        "{\n" +
        ".reg .f32 d<16>;\n" +
        ".reg .b32 hi<16>, lo<16>;\n" +
        ".reg .u32 s;\n" +
        "cvt.rna.tf32.f32 hi0, tc_x0;\n" +
        "cvt.rna.tf32.f32 hi1, tc_x1;\n" +
        "cvt.rna.tf32.f32 hi2, tc_x2;\n" +
        "cvt.rna.tf32.f32 hi3, tc_x3;\n" +
        "cvt.rna.tf32.f32 hi4, tc_x4;\n" +
        "cvt.rna.tf32.f32 hi5, tc_x5;\n" +
        "cvt.rna.tf32.f32 hi6, tc_x6;\n" +
        "cvt.rna.tf32.f32 hi7, tc_x7;\n" +
        "cvt.rna.tf32.f32 hi8, tc_x8;\n" +
        "cvt.rna.tf32.f32 hi9, tc_x9;\n" +
        "cvt.rna.tf32.f32 hi10, tc_x10;\n" +
        "cvt.rna.tf32.f32 hi11, tc_x11;\n" +
        "cvt.rna.tf32.f32 hi12, tc_x12;\n" +
        "cvt.rna.tf32.f32 hi13, tc_x13;\n" +
        "cvt.rna.tf32.f32 hi14, tc_x14;\n" +
        "cvt.rna.tf32.f32 hi15, tc_x15;\n" +
        "sub.f32 d0, tc_x0, hi0;\n" +
        "sub.f32 d1, tc_x1, hi1;\n" +
        "sub.f32 d2, tc_x2, hi2;\n" +
        "sub.f32 d3, tc_x3, hi3;\n" +
        "sub.f32 d4, tc_x4, hi4;\n" +
        "sub.f32 d5, tc_x5, hi5;\n" +
        "sub.f32 d6, tc_x6, hi6;\n" +
        "sub.f32 d7, tc_x7, hi7;\n" +
        "sub.f32 d8, tc_x8, hi8;\n" +
        "sub.f32 d9, tc_x9, hi9;\n" +
        "sub.f32 d10, tc_x10, hi10;\n" +
        "sub.f32 d11, tc_x11, hi11;\n" +
        "sub.f32 d12, tc_x12, hi12;\n" +
        "sub.f32 d13, tc_x13, hi13;\n" +
        "sub.f32 d14, tc_x14, hi14;\n" +
        "sub.f32 d15, tc_x15, hi15;\n" +
        "cvt.rna.tf32.f32 lo0, d0;\n" +
        "cvt.rna.tf32.f32 lo1, d1;\n" +
        "cvt.rna.tf32.f32 lo2, d2;\n" +
        "cvt.rna.tf32.f32 lo3, d3;\n" +
        "cvt.rna.tf32.f32 lo4, d4;\n" +
        "cvt.rna.tf32.f32 lo5, d5;\n" +
        "cvt.rna.tf32.f32 lo6, d6;\n" +
        "cvt.rna.tf32.f32 lo7, d7;\n" +
        "cvt.rna.tf32.f32 lo8, d8;\n" +
        "cvt.rna.tf32.f32 lo9, d9;\n" +
        "cvt.rna.tf32.f32 lo10, d10;\n" +
        "cvt.rna.tf32.f32 lo11, d11;\n" +
        "cvt.rna.tf32.f32 lo12, d12;\n" +
        "cvt.rna.tf32.f32 lo13, d13;\n" +
        "cvt.rna.tf32.f32 lo14, d14;\n" +
        "cvt.rna.tf32.f32 lo15, d15;\n" +
        "mov.u32 s, tc_smem;\n" +
        "add.u32 s, s, %0;\n" +
        "st.shared.v4.b32 [s+0], {hi0, hi1, hi2, hi3};\n" +
        "st.shared.v4.b32 [s+10240], {lo0, lo1, lo2, lo3};\n" +
        "st.shared.v4.b32 [s+5120], {hi4, hi5, hi6, hi7};\n" +
        "st.shared.v4.b32 [s+15360], {lo4, lo5, lo6, lo7};\n" +
        "st.shared.v4.b32 [s+20480], {hi8, hi9, hi10, hi11};\n" +
        "st.shared.v4.b32 [s+30720], {lo8, lo9, lo10, lo11};\n" +
        "st.shared.v4.b32 [s+25600], {hi12, hi13, hi14, hi15};\n" +
        "st.shared.v4.b32 [s+35840], {lo12, lo13, lo14, lo15};\n" +
        "}\n";

    // The warp tile's 48 mmas (3xTF32 on 4x4 tiles of 16x8), the same for both k halves of StepAsm: one const, used twice.
    private const string WarpMmaAsm =
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c0, tc_c1, tc_c2, tc_c3}, {alo0, alo1, alo2, alo3}, {bhi0, bhi1}, {tc_c0, tc_c1, tc_c2, tc_c3};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c0, tc_c1, tc_c2, tc_c3}, {ahi0, ahi1, ahi2, ahi3}, {blo0, blo1}, {tc_c0, tc_c1, tc_c2, tc_c3};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c0, tc_c1, tc_c2, tc_c3}, {ahi0, ahi1, ahi2, ahi3}, {bhi0, bhi1}, {tc_c0, tc_c1, tc_c2, tc_c3};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c4, tc_c5, tc_c6, tc_c7}, {alo0, alo1, alo2, alo3}, {bhi2, bhi3}, {tc_c4, tc_c5, tc_c6, tc_c7};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c4, tc_c5, tc_c6, tc_c7}, {ahi0, ahi1, ahi2, ahi3}, {blo2, blo3}, {tc_c4, tc_c5, tc_c6, tc_c7};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c4, tc_c5, tc_c6, tc_c7}, {ahi0, ahi1, ahi2, ahi3}, {bhi2, bhi3}, {tc_c4, tc_c5, tc_c6, tc_c7};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c8, tc_c9, tc_c10, tc_c11}, {alo0, alo1, alo2, alo3}, {bhi4, bhi5}, {tc_c8, tc_c9, tc_c10, tc_c11};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c8, tc_c9, tc_c10, tc_c11}, {ahi0, ahi1, ahi2, ahi3}, {blo4, blo5}, {tc_c8, tc_c9, tc_c10, tc_c11};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c8, tc_c9, tc_c10, tc_c11}, {ahi0, ahi1, ahi2, ahi3}, {bhi4, bhi5}, {tc_c8, tc_c9, tc_c10, tc_c11};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c12, tc_c13, tc_c14, tc_c15}, {alo0, alo1, alo2, alo3}, {bhi6, bhi7}, {tc_c12, tc_c13, tc_c14, tc_c15};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c12, tc_c13, tc_c14, tc_c15}, {ahi0, ahi1, ahi2, ahi3}, {blo6, blo7}, {tc_c12, tc_c13, tc_c14, tc_c15};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c12, tc_c13, tc_c14, tc_c15}, {ahi0, ahi1, ahi2, ahi3}, {bhi6, bhi7}, {tc_c12, tc_c13, tc_c14, tc_c15};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c16, tc_c17, tc_c18, tc_c19}, {alo4, alo5, alo6, alo7}, {bhi0, bhi1}, {tc_c16, tc_c17, tc_c18, tc_c19};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c16, tc_c17, tc_c18, tc_c19}, {ahi4, ahi5, ahi6, ahi7}, {blo0, blo1}, {tc_c16, tc_c17, tc_c18, tc_c19};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c16, tc_c17, tc_c18, tc_c19}, {ahi4, ahi5, ahi6, ahi7}, {bhi0, bhi1}, {tc_c16, tc_c17, tc_c18, tc_c19};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c20, tc_c21, tc_c22, tc_c23}, {alo4, alo5, alo6, alo7}, {bhi2, bhi3}, {tc_c20, tc_c21, tc_c22, tc_c23};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c20, tc_c21, tc_c22, tc_c23}, {ahi4, ahi5, ahi6, ahi7}, {blo2, blo3}, {tc_c20, tc_c21, tc_c22, tc_c23};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c20, tc_c21, tc_c22, tc_c23}, {ahi4, ahi5, ahi6, ahi7}, {bhi2, bhi3}, {tc_c20, tc_c21, tc_c22, tc_c23};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c24, tc_c25, tc_c26, tc_c27}, {alo4, alo5, alo6, alo7}, {bhi4, bhi5}, {tc_c24, tc_c25, tc_c26, tc_c27};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c24, tc_c25, tc_c26, tc_c27}, {ahi4, ahi5, ahi6, ahi7}, {blo4, blo5}, {tc_c24, tc_c25, tc_c26, tc_c27};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c24, tc_c25, tc_c26, tc_c27}, {ahi4, ahi5, ahi6, ahi7}, {bhi4, bhi5}, {tc_c24, tc_c25, tc_c26, tc_c27};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c28, tc_c29, tc_c30, tc_c31}, {alo4, alo5, alo6, alo7}, {bhi6, bhi7}, {tc_c28, tc_c29, tc_c30, tc_c31};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c28, tc_c29, tc_c30, tc_c31}, {ahi4, ahi5, ahi6, ahi7}, {blo6, blo7}, {tc_c28, tc_c29, tc_c30, tc_c31};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c28, tc_c29, tc_c30, tc_c31}, {ahi4, ahi5, ahi6, ahi7}, {bhi6, bhi7}, {tc_c28, tc_c29, tc_c30, tc_c31};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c32, tc_c33, tc_c34, tc_c35}, {alo8, alo9, alo10, alo11}, {bhi0, bhi1}, {tc_c32, tc_c33, tc_c34, tc_c35};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c32, tc_c33, tc_c34, tc_c35}, {ahi8, ahi9, ahi10, ahi11}, {blo0, blo1}, {tc_c32, tc_c33, tc_c34, tc_c35};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c32, tc_c33, tc_c34, tc_c35}, {ahi8, ahi9, ahi10, ahi11}, {bhi0, bhi1}, {tc_c32, tc_c33, tc_c34, tc_c35};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c36, tc_c37, tc_c38, tc_c39}, {alo8, alo9, alo10, alo11}, {bhi2, bhi3}, {tc_c36, tc_c37, tc_c38, tc_c39};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c36, tc_c37, tc_c38, tc_c39}, {ahi8, ahi9, ahi10, ahi11}, {blo2, blo3}, {tc_c36, tc_c37, tc_c38, tc_c39};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c36, tc_c37, tc_c38, tc_c39}, {ahi8, ahi9, ahi10, ahi11}, {bhi2, bhi3}, {tc_c36, tc_c37, tc_c38, tc_c39};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c40, tc_c41, tc_c42, tc_c43}, {alo8, alo9, alo10, alo11}, {bhi4, bhi5}, {tc_c40, tc_c41, tc_c42, tc_c43};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c40, tc_c41, tc_c42, tc_c43}, {ahi8, ahi9, ahi10, ahi11}, {blo4, blo5}, {tc_c40, tc_c41, tc_c42, tc_c43};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c40, tc_c41, tc_c42, tc_c43}, {ahi8, ahi9, ahi10, ahi11}, {bhi4, bhi5}, {tc_c40, tc_c41, tc_c42, tc_c43};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c44, tc_c45, tc_c46, tc_c47}, {alo8, alo9, alo10, alo11}, {bhi6, bhi7}, {tc_c44, tc_c45, tc_c46, tc_c47};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c44, tc_c45, tc_c46, tc_c47}, {ahi8, ahi9, ahi10, ahi11}, {blo6, blo7}, {tc_c44, tc_c45, tc_c46, tc_c47};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c44, tc_c45, tc_c46, tc_c47}, {ahi8, ahi9, ahi10, ahi11}, {bhi6, bhi7}, {tc_c44, tc_c45, tc_c46, tc_c47};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c48, tc_c49, tc_c50, tc_c51}, {alo12, alo13, alo14, alo15}, {bhi0, bhi1}, {tc_c48, tc_c49, tc_c50, tc_c51};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c48, tc_c49, tc_c50, tc_c51}, {ahi12, ahi13, ahi14, ahi15}, {blo0, blo1}, {tc_c48, tc_c49, tc_c50, tc_c51};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c48, tc_c49, tc_c50, tc_c51}, {ahi12, ahi13, ahi14, ahi15}, {bhi0, bhi1}, {tc_c48, tc_c49, tc_c50, tc_c51};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c52, tc_c53, tc_c54, tc_c55}, {alo12, alo13, alo14, alo15}, {bhi2, bhi3}, {tc_c52, tc_c53, tc_c54, tc_c55};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c52, tc_c53, tc_c54, tc_c55}, {ahi12, ahi13, ahi14, ahi15}, {blo2, blo3}, {tc_c52, tc_c53, tc_c54, tc_c55};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c52, tc_c53, tc_c54, tc_c55}, {ahi12, ahi13, ahi14, ahi15}, {bhi2, bhi3}, {tc_c52, tc_c53, tc_c54, tc_c55};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c56, tc_c57, tc_c58, tc_c59}, {alo12, alo13, alo14, alo15}, {bhi4, bhi5}, {tc_c56, tc_c57, tc_c58, tc_c59};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c56, tc_c57, tc_c58, tc_c59}, {ahi12, ahi13, ahi14, ahi15}, {blo4, blo5}, {tc_c56, tc_c57, tc_c58, tc_c59};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c56, tc_c57, tc_c58, tc_c59}, {ahi12, ahi13, ahi14, ahi15}, {bhi4, bhi5}, {tc_c56, tc_c57, tc_c58, tc_c59};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c60, tc_c61, tc_c62, tc_c63}, {alo12, alo13, alo14, alo15}, {bhi6, bhi7}, {tc_c60, tc_c61, tc_c62, tc_c63};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c60, tc_c61, tc_c62, tc_c63}, {ahi12, ahi13, ahi14, ahi15}, {blo6, blo7}, {tc_c60, tc_c61, tc_c62, tc_c63};\n" +
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {tc_c60, tc_c61, tc_c62, tc_c63}, {ahi12, ahi13, ahi14, ahi15}, {bhi6, bhi7}, {tc_c60, tc_c61, tc_c62, tc_c63};\n";

    private const string StepAsm =
        "{\n" +
        ".reg .b32 ahi<16>, alo<16>, bhi<8>, blo<8>;\n" +
        ".reg .u32 sa, sb;\n" +
        "mov.u32 sa, tc_smem;\n" +
        "add.u32 sb, sa, %1;\n" +
        "add.u32 sa, sa, %0;\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {ahi0, ahi1, ahi2, ahi3}, [sa+0];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {ahi4, ahi5, ahi6, ahi7}, [sa+1280];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {ahi8, ahi9, ahi10, ahi11}, [sa+2560];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {ahi12, ahi13, ahi14, ahi15}, [sa+3840];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {alo0, alo1, alo2, alo3}, [sa+10240];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {alo4, alo5, alo6, alo7}, [sa+11520];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {alo8, alo9, alo10, alo11}, [sa+12800];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {alo12, alo13, alo14, alo15}, [sa+14080];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {bhi0, bhi1, bhi2, bhi3}, [sb+0];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {bhi4, bhi5, bhi6, bhi7}, [sb+1280];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {blo0, blo1, blo2, blo3}, [sb+10240];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {blo4, blo5, blo6, blo7}, [sb+11520];\n" +
        WarpMmaAsm +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {ahi0, ahi1, ahi2, ahi3}, [sa+32];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {ahi4, ahi5, ahi6, ahi7}, [sa+1312];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {ahi8, ahi9, ahi10, ahi11}, [sa+2592];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {ahi12, ahi13, ahi14, ahi15}, [sa+3872];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {alo0, alo1, alo2, alo3}, [sa+10272];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {alo4, alo5, alo6, alo7}, [sa+11552];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {alo8, alo9, alo10, alo11}, [sa+12832];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {alo12, alo13, alo14, alo15}, [sa+14112];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {bhi0, bhi1, bhi2, bhi3}, [sb+32];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {bhi4, bhi5, bhi6, bhi7}, [sb+1312];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {blo0, blo1, blo2, blo3}, [sb+10272];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {blo4, blo5, blo6, blo7}, [sb+11552];\n" +
        WarpMmaAsm +
        "}\n";

    private const string StoreAsm =
        "{\n" +
        ".reg .b64 r;\n" +
        "mov.b64 r, %0;\n" +
        "st.global.v2.f32 [r+0], {tc_c0, tc_c1};\n" +
        "st.global.v2.f32 [r+32], {tc_c4, tc_c5};\n" +
        "st.global.v2.f32 [r+64], {tc_c8, tc_c9};\n" +
        "st.global.v2.f32 [r+96], {tc_c12, tc_c13};\n" +
        "add.s64 r, r, %1;\n" +
        "st.global.v2.f32 [r+0], {tc_c2, tc_c3};\n" +
        "st.global.v2.f32 [r+32], {tc_c6, tc_c7};\n" +
        "st.global.v2.f32 [r+64], {tc_c10, tc_c11};\n" +
        "st.global.v2.f32 [r+96], {tc_c14, tc_c15};\n" +
        "add.s64 r, r, %1;\n" +
        "st.global.v2.f32 [r+0], {tc_c16, tc_c17};\n" +
        "st.global.v2.f32 [r+32], {tc_c20, tc_c21};\n" +
        "st.global.v2.f32 [r+64], {tc_c24, tc_c25};\n" +
        "st.global.v2.f32 [r+96], {tc_c28, tc_c29};\n" +
        "add.s64 r, r, %1;\n" +
        "st.global.v2.f32 [r+0], {tc_c18, tc_c19};\n" +
        "st.global.v2.f32 [r+32], {tc_c22, tc_c23};\n" +
        "st.global.v2.f32 [r+64], {tc_c26, tc_c27};\n" +
        "st.global.v2.f32 [r+96], {tc_c30, tc_c31};\n" +
        "add.s64 r, r, %1;\n" +
        "st.global.v2.f32 [r+0], {tc_c32, tc_c33};\n" +
        "st.global.v2.f32 [r+32], {tc_c36, tc_c37};\n" +
        "st.global.v2.f32 [r+64], {tc_c40, tc_c41};\n" +
        "st.global.v2.f32 [r+96], {tc_c44, tc_c45};\n" +
        "add.s64 r, r, %1;\n" +
        "st.global.v2.f32 [r+0], {tc_c34, tc_c35};\n" +
        "st.global.v2.f32 [r+32], {tc_c38, tc_c39};\n" +
        "st.global.v2.f32 [r+64], {tc_c42, tc_c43};\n" +
        "st.global.v2.f32 [r+96], {tc_c46, tc_c47};\n" +
        "add.s64 r, r, %1;\n" +
        "st.global.v2.f32 [r+0], {tc_c48, tc_c49};\n" +
        "st.global.v2.f32 [r+32], {tc_c52, tc_c53};\n" +
        "st.global.v2.f32 [r+64], {tc_c56, tc_c57};\n" +
        "st.global.v2.f32 [r+96], {tc_c60, tc_c61};\n" +
        "add.s64 r, r, %1;\n" +
        "st.global.v2.f32 [r+0], {tc_c50, tc_c51};\n" +
        "st.global.v2.f32 [r+32], {tc_c54, tc_c55};\n" +
        "st.global.v2.f32 [r+64], {tc_c58, tc_c59};\n" +
        "st.global.v2.f32 [r+96], {tc_c62, tc_c63};\n" +
        "}\n";
}
