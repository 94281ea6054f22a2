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
/// accumulators as PTX registers and the shared tiles as a PTX <c>.shared</c> array; each K step is one asm statement with
/// the step's loads and all of the warp's mma; the epilogue stores straight from the accumulators. Only by-value 32- and
/// 64-bit integers (byte offsets, global addresses) cross from C# into the asm, and nothing comes back out.
/// </remarks>
[TensorCoreKernels]
internal sealed class TensorCoreGemm
{
    /// <summary>Rows of a (and of c) per group.</summary>
    public const int TileM = 64;

    /// <summary>Rows of b (columns of c) per group.</summary>
    public const int TileN = 64;

    /// <summary>K values staged in shared memory per step (two mma k-steps of 8).</summary>
    public const int TileK = 16;

    /// <summary>Threads per group: 4 warps in a 2x2 arrangement, each computing a 32x32 block of the tile.</summary>
    public const int Threads = 128;

    // A group's two resident groups per SM cap ptxas at 65,536 / (4 · 128) = 128 registers a thread; the kernel needs
    // about 100 (32 accumulators, 32 fragment registers, the step's addresses).
    private const int GroupsPerMultiprocessor = 4;

    // The shared layout, in bytes, as the asm strings hard-code it: four (64, SharedStride) fp32 arrays, [row][k] with
    // k contiguous as in global memory: a's big parts at 0, a's small parts at 5,120, b's big at 10,240, b's small at 15,360.
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
    /// 64 and k of 16, and a and b must start on 16 bytes and c on 8 (a whole buffer does), since the global accesses are
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

    /// <summary>Throws unless m and n are positive multiples of 64 and k of 16: the kernel has no edge tiles yet.</summary>
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

    // Group (x, y) computes c's 64x64 tile at rows 64·y, columns 64·x; warp w its 32x32 block at rows 32·(w / 2),
    // columns 32·(w % 2), as 2x4 mma tiles of 16x8. Each K step stages a (64, 16) slice of a and of b, split into big
    // and small TF32 parts, then runs two k-steps of 8: per warp 16 ldmatrix.x4 and 48 mma.
    // c, a and b are the matrices' device addresses (Address).
    private static void Kernel(long c, long a, long b, int m, int n, int k)
    {
        // Declares tc_smem (the four shared arrays) and zeroes the accumulators tc_c0..31 (PTX registers ILGPU never sees).
        CudaAsm.Emit(InitAsm);
        var thread = Group.IdxX;
        var warp = thread / 32;
        var lane = thread % 32;
        var m0 = Grid.IdxY * TileM;
        var n0 = Grid.IdxX * TileN;

        // Staging: thread t loads 4 consecutive k (16 bytes) of rows t/4 and t/4 + 32 of each slice, so four threads read
        // one row's 64 contiguous bytes; it stores them at the same place in shared memory.
        var row = thread / 4;
        var quad = 4 * (thread % 4);
        var store = (row * RowBytes) + (quad * sizeof(float));
        var aRow = a + ((((long)(m0 + row) * k) + quad) * sizeof(float));
        var bRow = b + ((((long)(n0 + row) * k) + quad) * sizeof(float));
        var below = 32L * k * sizeof(float);

        // Fragments: ldmatrix.x4 takes one row address from each lane, lanes 8q .. 8q+7 giving matrix q's eight rows. For a
        // (16 rows, 8 k) A fragment the matrices are rows 0-7 / 8-15 at k 0-3, then at k 4-7 (registers a0..a3 of mma's
        // row-major layout); for a pair of (8 k, 8 n) B fragments they are n 0-7 at k 0-3 / 4-7, then n 8-15 (b0, b1 of
        // each). A 32-bit tf32 element is two b16, so each lane receives element (lane / 4, lane % 4) of each matrix.
        var aFragment = ((((32 * (warp / 2)) + (lane % 8) + (8 * ((lane / 8) % 2))) * SharedStride) + (4 * (lane / 16))) * sizeof(float);
        var bFragment = BOffset + (((((32 * (warp % 2)) + (lane % 8) + (8 * (lane / 16))) * SharedStride) + (4 * ((lane / 8) % 2))) * sizeof(float));
        for (var k0 = 0; k0 < k; k0 += TileK)
        {
            var step = (long)k0 * sizeof(float);
            CudaAsm.Emit(StageAsm, aRow + step, aRow + below + step, bRow + step, bRow + below + step, store);
            Group.Barrier();
            CudaAsm.Emit(StepAsm, aFragment, bFragment);
            Group.Barrier();
        }

        // Accumulator tile (i, j) (i < 2 down, j < 4 across) holds rows g, g + 8 and columns 2t, 2t + 1 of its 16x8 block,
        // g = lane / 4 and t = lane % 4; the four row addresses are those of rows g, g + 8, g + 16, g + 24 of the warp's block.
        var cRow = c + (((((long)(m0 + (32 * (warp / 2)) + (lane / 4))) * n) + n0 + (32 * (warp % 2)) + (2 * (lane % 4))) * sizeof(float));
        var eight = 8L * n * sizeof(float);
        CudaAsm.Emit(StoreAsm, cRow, cRow + eight, cRow + (2 * eight), cRow + (3 * eight));
    }

    // The inline PTX, generated once (unrolled by hand: ILGPU takes only constant strings). Offsets are the shared layout's
    // bytes above: +5120 the small parts, +10240 b, +1280 sixteen rows further, +32 the second k-step of 8, +2560 32 rows.

    private const string InitAsm =
        ".shared .align 16 .b8 tc_smem[20480];\n" +
        ".reg .f32 tc_c<32>;\n" +
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
        "mov.f32 tc_c31, 0f00000000;\n";

    private const string StageAsm =
        "{\n" +
        ".reg .f32 x<16>, d<16>;\n" +
        ".reg .b32 hi<16>, lo<16>;\n" +
        ".reg .u32 s;\n" +
        "ld.global.nc.v4.f32 {x0, x1, x2, x3}, [%0];\n" +
        "ld.global.nc.v4.f32 {x4, x5, x6, x7}, [%1];\n" +
        "ld.global.nc.v4.f32 {x8, x9, x10, x11}, [%2];\n" +
        "ld.global.nc.v4.f32 {x12, x13, x14, x15}, [%3];\n" +
        "cvt.rna.tf32.f32 hi0, x0;\n" +
        "cvt.rna.tf32.f32 hi1, x1;\n" +
        "cvt.rna.tf32.f32 hi2, x2;\n" +
        "cvt.rna.tf32.f32 hi3, x3;\n" +
        "cvt.rna.tf32.f32 hi4, x4;\n" +
        "cvt.rna.tf32.f32 hi5, x5;\n" +
        "cvt.rna.tf32.f32 hi6, x6;\n" +
        "cvt.rna.tf32.f32 hi7, x7;\n" +
        "cvt.rna.tf32.f32 hi8, x8;\n" +
        "cvt.rna.tf32.f32 hi9, x9;\n" +
        "cvt.rna.tf32.f32 hi10, x10;\n" +
        "cvt.rna.tf32.f32 hi11, x11;\n" +
        "cvt.rna.tf32.f32 hi12, x12;\n" +
        "cvt.rna.tf32.f32 hi13, x13;\n" +
        "cvt.rna.tf32.f32 hi14, x14;\n" +
        "cvt.rna.tf32.f32 hi15, x15;\n" +
        "sub.f32 d0, x0, hi0;\n" +
        "sub.f32 d1, x1, hi1;\n" +
        "sub.f32 d2, x2, hi2;\n" +
        "sub.f32 d3, x3, hi3;\n" +
        "sub.f32 d4, x4, hi4;\n" +
        "sub.f32 d5, x5, hi5;\n" +
        "sub.f32 d6, x6, hi6;\n" +
        "sub.f32 d7, x7, hi7;\n" +
        "sub.f32 d8, x8, hi8;\n" +
        "sub.f32 d9, x9, hi9;\n" +
        "sub.f32 d10, x10, hi10;\n" +
        "sub.f32 d11, x11, hi11;\n" +
        "sub.f32 d12, x12, hi12;\n" +
        "sub.f32 d13, x13, hi13;\n" +
        "sub.f32 d14, x14, hi14;\n" +
        "sub.f32 d15, x15, hi15;\n" +
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
        "add.u32 s, s, %4;\n" +
        "st.shared.v4.b32 [s+0], {hi0, hi1, hi2, hi3};\n" +
        "st.shared.v4.b32 [s+5120], {lo0, lo1, lo2, lo3};\n" +
        "st.shared.v4.b32 [s+2560], {hi4, hi5, hi6, hi7};\n" +
        "st.shared.v4.b32 [s+7680], {lo4, lo5, lo6, lo7};\n" +
        "st.shared.v4.b32 [s+10240], {hi8, hi9, hi10, hi11};\n" +
        "st.shared.v4.b32 [s+15360], {lo8, lo9, lo10, lo11};\n" +
        "st.shared.v4.b32 [s+12800], {hi12, hi13, hi14, hi15};\n" +
        "st.shared.v4.b32 [s+17920], {lo12, lo13, lo14, lo15};\n" +
        "}\n";

    private const string StepAsm =
        "{\n" +
        ".reg .b32 ahi<8>, alo<8>, bhi<8>, blo<8>;\n" +
        ".reg .u32 sa, sb;\n" +
        "mov.u32 sa, tc_smem;\n" +
        "add.u32 sb, sa, %1;\n" +
        "add.u32 sa, sa, %0;\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {ahi0, ahi1, ahi2, ahi3}, [sa+0];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {ahi4, ahi5, ahi6, ahi7}, [sa+1280];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {alo0, alo1, alo2, alo3}, [sa+5120];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {alo4, alo5, alo6, alo7}, [sa+6400];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {bhi0, bhi1, bhi2, bhi3}, [sb+0];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {bhi4, bhi5, bhi6, bhi7}, [sb+1280];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {blo0, blo1, blo2, blo3}, [sb+5120];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {blo4, blo5, blo6, blo7}, [sb+6400];\n" +
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
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {ahi0, ahi1, ahi2, ahi3}, [sa+32];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {ahi4, ahi5, ahi6, ahi7}, [sa+1312];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {alo0, alo1, alo2, alo3}, [sa+5152];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {alo4, alo5, alo6, alo7}, [sa+6432];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {bhi0, bhi1, bhi2, bhi3}, [sb+32];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {bhi4, bhi5, bhi6, bhi7}, [sb+1312];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {blo0, blo1, blo2, blo3}, [sb+5152];\n" +
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {blo4, blo5, blo6, blo7}, [sb+6432];\n" +
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
        "}\n";

    private const string StoreAsm =
        "st.global.v2.f32 [%0+0], {tc_c0, tc_c1};\n" +
        "st.global.v2.f32 [%1+0], {tc_c2, tc_c3};\n" +
        "st.global.v2.f32 [%0+32], {tc_c4, tc_c5};\n" +
        "st.global.v2.f32 [%1+32], {tc_c6, tc_c7};\n" +
        "st.global.v2.f32 [%0+64], {tc_c8, tc_c9};\n" +
        "st.global.v2.f32 [%1+64], {tc_c10, tc_c11};\n" +
        "st.global.v2.f32 [%0+96], {tc_c12, tc_c13};\n" +
        "st.global.v2.f32 [%1+96], {tc_c14, tc_c15};\n" +
        "st.global.v2.f32 [%2+0], {tc_c16, tc_c17};\n" +
        "st.global.v2.f32 [%3+0], {tc_c18, tc_c19};\n" +
        "st.global.v2.f32 [%2+32], {tc_c20, tc_c21};\n" +
        "st.global.v2.f32 [%3+32], {tc_c22, tc_c23};\n" +
        "st.global.v2.f32 [%2+64], {tc_c24, tc_c25};\n" +
        "st.global.v2.f32 [%3+64], {tc_c26, tc_c27};\n" +
        "st.global.v2.f32 [%2+96], {tc_c28, tc_c29};\n" +
        "st.global.v2.f32 [%3+96], {tc_c30, tc_c31};\n";
}
