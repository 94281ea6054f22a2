using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// Dimensions and flags of one matrix product C (M, N) = op(A) (M, K) · op(B) (K, N) [+ bias (N)] [+ C].
/// op(A) reads A as (K, M) when TransposeA is set; op(B) reads B as (N, K) when TransposeB is set.
/// </summary>
public readonly record struct GemmShape(int M, int N, int K, int TransposeA, int TransposeB, int Accumulate, int HasBias);

/// <summary>
/// Layout of a batched, strided product (GPU kernel only): item z of Count = batches x Heads reads A from
/// (z / Heads)·ABatch + (z % Heads)·AHead with row stride Lda, and likewise B and C. Attention uses it to
/// multiply the heads of qkv (B, T, 3C) in place. <see cref="Packed"/> is one dense product.
/// </summary>
public readonly record struct GemmLayout(int Count, int Heads, int Lda, int Ldb, int Ldc, long ABatch, long AHead, long BBatch, long BHead, long CBatch, long CHead)
{
    public static GemmLayout Packed(GemmShape s) => new(1, 1, s.TransposeA != 0 ? s.M : s.K, s.TransposeB != 0 ? s.K : s.N, s.N, 0, 0, 0, 0, 0, 0);
}

/// <summary>
/// Inverted dropout applied to A as it is read (attention's probabilities): element at flat index i of the A
/// view is kept when Key.Uniform(i) ≥ Probability and scaled by 1 / (1 − Probability); 0 reads A as is.
/// </summary>
public readonly record struct GemmDropout(float Probability, RngKey Key)
{
    public float Apply(long i, float value)
        => Probability == 0f ? value : Key.Uniform(i) >= Probability ? value * (1f / (1f - Probability)) : 0f;
}

/// <summary>How the GPU kernel reads its operands: dense views, or a convolution's operands gathered on the fly (implicit GEMM).</summary>
public enum GemmOperands
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

/// <summary>
/// Dense fp32 matrix product, the workhorse of Linear. Two variants with the same results: a
/// register-blocked shared-memory kernel for GPUs, and a barrier-free kernel for ILGPU's CPU simulator,
/// where barriers cost ~1000x (docs/cpu-accelerator.md).
/// </summary>
public sealed class MatMul
{
    /// <summary>Output tile of one group (Tile x Tile); its 16x16 threads compute 4x4 outputs each (the kernel's 16 accumulators).</summary>
    public const int Tile = 64;

    /// <summary>Threads per group side.</summary>
    public const int GroupSide = 16;

    /// <summary>K slice staged in shared memory per step.</summary>
    public const int TileK = 16;

    // Shared rows padded by one float, so the transposing stores of a K-contiguous operand hit distinct banks.
    private const int SharedStride = Tile + 1;
    private const int LoadsPerThread = Tile * TileK / (GroupSide * GroupSide);

    // Outputs per item of the CPU kernel: the simulator's cost is in ArrayView accesses, so one A load feeds four.
    private const int CpuLanes = 4;

    // A split of K is worth its extra pass only when it still has this many K values to sum.
    private const int MinSplitK = 256;
    private const int MaxSplits = 32;

    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> simple;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, GemmLayout, GemmDropout, int, Conv2dShape, int, int> blocked;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, int> sumSplits;

    private MatMul(ComputeDevice device)
    {
        this.device = device;
        simple = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(SimpleKernel);
        blocked = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, GemmLayout, GemmDropout, int, Conv2dShape, int, int>(BlockedKernel);
        sumSplits = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, int>(SumSplitsKernel);
    }

    public static MatMul For(ComputeDevice device) => device.Kernels(static d => new MatMul(d));

    /// <summary>c (M, N) = op(a) · op(b) [+ bias (N)] [+ c], with the variant that suits the device.</summary>
    public void Run(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, GemmShape shape)
    {
        using var profile = device.Profile("MatMul.Run");
        if (device.PrefersTiledKernels)
        {
            RunTiled(c, a, b, bias, shape);
        }
        else
        {
            RunSimple(c, a, b, bias, shape);
        }
    }

    /// <summary>
    /// How many parts K is split into so that the product fills the device: about two groups per
    /// multiprocessor. Weight gradients (K = batch x tokens, small M x N) need it; forward products
    /// (M = batch x tokens) already have groups enough and get 1.
    /// </summary>
    public static int SplitsFor(GemmShape shape, int multiprocessors)
    {
        var groups = (long)Blocks(shape.M) * Blocks(shape.N);
        var wanted = (2L * Math.Max(1, multiprocessors) + groups - 1) / Math.Max(1, groups);
        return (int)Math.Clamp(Math.Min(wanted, shape.K / MinSplitK), 1, MaxSplits);
    }

    internal void RunSimple(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, GemmShape shape)
    {
        var count = shape.M > 0 && shape.N > 0 ? (int)((long)shape.M * CpuBlocks(shape.N)) : 0;
        var threads = device.Threads(count);
        if (threads > 0)
        {
            simple(threads, threads, count, c, a, b, bias, shape);
        }
    }

    /// <summary>The GPU kernel; <paramref name="splits"/> overrides <see cref="SplitsFor"/> (tests use it on the simulator).</summary>
    internal void RunTiled(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, GemmShape shape, int? splits = null)
        => Launch(c, a, b, bias, shape, GemmLayout.Packed(shape), default, GemmOperands.Dense, default, splits);

    /// <summary>
    /// The GPU kernel over <paramref name="layout"/>.Count strided products at once (no bias, no split of K):
    /// c_z (M, N) [+]= op(a_z) · op(b_z), with <paramref name="dropout"/> applied to a as it is read.
    /// </summary>
    internal void RunBatched(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, GemmShape shape, GemmLayout layout, GemmDropout dropout)
    {
        using var profile = device.Profile("MatMul.RunBatched");
        Launch(c, a, b, a, shape with { HasBias = 0 }, layout, dropout, GemmOperands.Dense, default, 1);
    }

    /// <summary>
    /// A convolution pass as an implicit GEMM on the GPU kernel (<see cref="GemmOperands"/>): the unfolded input
    /// and the output-gradient taps are gathered as tiles are loaded, never stored. Forward writes c = output
    /// (B, Cout, Ho, Wo) from a = weight, b = input; the input gradient adds into c = dinput from a = weight,
    /// b = doutput; the weight gradient adds into c = dweight from a = doutput, b = input, with K split.
    /// </summary>
    internal void RunConvolution(GemmOperands pass, ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, Conv2dShape conv, int? splits = null)
    {
        var taps = conv.Kernel * conv.Kernel;
        var positions = conv.OutHeight * conv.OutWidth;
        var pixels = conv.Height * conv.Width;
        var (shape, layout) = pass switch
        {
            GemmOperands.ConvForward => (new GemmShape(conv.OutChannels, positions, conv.InChannels * taps, 0, 0, 0, 0),
                new GemmLayout(conv.Batch, 1, conv.InChannels * taps, 0, positions, 0, 0, 0, 0, (long)conv.OutChannels * positions, 0)),
            GemmOperands.ConvInputGradient => (new GemmShape(conv.InChannels, pixels, conv.OutChannels * taps, 0, 0, 1, 0),
                new GemmLayout(conv.Batch, 1, 0, 0, pixels, 0, 0, 0, 0, (long)conv.InChannels * pixels, 0)),
            GemmOperands.ConvWeightGradient => (new GemmShape(conv.OutChannels, conv.InChannels * taps, conv.Batch * positions, 0, 1, 1, 0),
                new GemmLayout(1, 1, 0, 0, conv.InChannels * taps, 0, 0, 0, 0, 0, 0)),
            _ => throw new ArgumentOutOfRangeException(nameof(pass), pass, "not a convolution pass"),
        };
        Launch(c, a, b, a, shape, layout, default, pass, conv, pass == GemmOperands.ConvWeightGradient ? splits : 1);
    }

    // One launch of the blocked kernel; K is split only for a single product with a packed output.
    private void Launch(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, GemmShape shape, GemmLayout layout, GemmDropout dropout, GemmOperands operands, Conv2dShape conv, int? splits)
    {
        if (shape.M <= 0 || shape.N <= 0 || layout.Count <= 0)
        {
            return;
        }

        var parts = layout.Count == 1 ? Math.Max(1, splits ?? SplitsFor(shape, device.Accelerator.NumMultiprocessors)) : 1;
        var kPerSplit = (((Math.Max(1, shape.K) + parts - 1) / parts) + TileK - 1) / TileK * TileK;
        parts = Math.Max(1, (shape.K + kPerSplit - 1) / kPerSplit);
        var outputs = (long)shape.M * shape.N;
        var partials = parts > 1 ? device.Scratch(parts * outputs) : c;
        var grid = new Index3D(Blocks(shape.N), Blocks(shape.M), layout.Count * parts);
        blocked(new KernelConfig(grid, new Index3D(GroupSide, GroupSide, 1)), c, partials, a, b, bias, shape, layout, dropout, (int)operands, conv, kPerSplit, parts);
        if (parts > 1)
        {
            var threads = device.Threads(outputs);
            sumSplits(threads, threads, checked((int)outputs), c, partials, bias, shape, parts);
        }
    }

    private static int Blocks(int n) => (n + Tile - 1) / Tile;

    private static int CpuBlocks(int n) => (n + CpuLanes - 1) / CpuLanes;

    // CPU: one item per CpuLanes consecutive outputs (m, n0..n0+3) of a row, grid-stride; each A load feeds every
    // lane and the transposes are resolved into strides once. Each output sums over k in order, as a kernel with
    // one output per item would. A long counter, as index + stride can pass int.MaxValue.
    private static void SimpleKernel(Index1D index, int stride, int count, ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, GemmShape s)
    {
        var blocks = CpuBlocks(s.N);
        var aStep = s.TransposeA != 0 ? (long)s.M : 1L;
        var bStep = s.TransposeB != 0 ? 1L : s.N;
        var bLane = s.TransposeB != 0 ? (long)s.K : 1L;
        for (long item = index; item < count; item += stride)
        {
            var m = (int)(item / blocks);
            var n0 = (int)(item % blocks) * CpuLanes;
            var lanes = Math.Min(CpuLanes, s.N - n0);
            var aAt = s.TransposeA != 0 ? (long)m : (long)m * s.K;
            var bAt = s.TransposeB != 0 ? (long)n0 * s.K : n0;
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            for (var k = 0; k < s.K; k++)
            {
                var av = a[aAt];
                s0 += av * b[bAt];
                if (lanes > 1)
                {
                    s1 += av * b[bAt + bLane];
                }

                if (lanes > 2)
                {
                    s2 += av * b[bAt + (2 * bLane)];
                }

                if (lanes > 3)
                {
                    s3 += av * b[bAt + (3 * bLane)];
                }

                aAt += aStep;
                bAt += bStep;
            }

            Store(c, bias, s, m, n0, s0);
            if (lanes > 1)
            {
                Store(c, bias, s, m, n0 + 1, s1);
            }

            if (lanes > 2)
            {
                Store(c, bias, s, m, n0 + 2, s2);
            }

            if (lanes > 3)
            {
                Store(c, bias, s, m, n0 + 3, s3);
            }
        }
    }

    // One 16x16 group per 64x64 output tile and K part (grid z). Each thread owns rows ty + 16i and
    // columns tx + 16j (i, j < 4): strided, so shared reads are conflict-free and global stores coalesce.
    // Each K step stages a 64x16 slice of op(A) and a 16x64 slice of op(B), loaded along whichever
    // dimension is contiguous in memory. With one part, the result goes to c (bias, accumulate);
    // with several, each part writes its sum to partials (part, M, N) for SumSplitsKernel.
    private static void BlockedKernel(ArrayView<float> c, ArrayView<float> partials, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, GemmShape s, GemmLayout layout, GemmDropout dropout, int operands, Conv2dShape conv, int kPerSplit, int parts)
    {
        var tileA = SharedMemory.Allocate<float>(TileK * SharedStride); // [k][m]
        var tileB = SharedMemory.Allocate<float>(TileK * SharedStride); // [k][n]
        var tx = Group.IdxX;
        var ty = Group.IdxY;
        var thread = (ty * GroupSide) + tx;
        var m0 = Grid.IdxY * Tile;
        var n0 = Grid.IdxX * Tile;
        // Grid z runs over parts of K for one product, or over the products of a batch (one part each).
        var part = Grid.IdxZ % parts;
        var z = Grid.IdxZ / parts;
        var aBase = ((long)(z / layout.Heads) * layout.ABatch) + ((long)(z % layout.Heads) * layout.AHead);
        var bBase = ((long)(z / layout.Heads) * layout.BBatch) + ((long)(z % layout.Heads) * layout.BHead);
        var cBase = ((long)(z / layout.Heads) * layout.CBatch) + ((long)(z % layout.Heads) * layout.CHead);
        var kBegin = part * kPerSplit;
        var kEnd = XMath.Min(s.K, kBegin + kPerSplit);
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (var k0 = kBegin; k0 < kEnd; k0 += TileK)
        {
            for (var r = 0; r < LoadsPerThread; r++)
            {
                var e = thread + (r * GroupSide * GroupSide);
                var transposedA = s.TransposeA != 0;
                var mm = transposedA ? e % Tile : e / TileK;
                var ka = transposedA ? e / Tile : e % TileK;
                var m = m0 + mm;
                var ak = k0 + ka;
                tileA[(ka * SharedStride) + mm] = m < s.M && ak < kEnd ? LoadA(a, s, layout, dropout, operands, conv, aBase, m, ak) : 0f;
                var transposedB = s.TransposeB != 0;
                var nn = transposedB ? e / TileK : e % Tile;
                var kb = transposedB ? e % TileK : e / Tile;
                var n = n0 + nn;
                var bk = k0 + kb;
                tileB[(kb * SharedStride) + nn] = n < s.N && bk < kEnd ? LoadB(b, s, layout, operands, conv, bBase, z, bk, n) : 0f;
            }

            Group.Barrier();
            for (var k = 0; k < TileK; k++)
            {
                var row = k * SharedStride;
                var a0 = tileA[row + ty];
                var a1 = tileA[row + ty + GroupSide];
                var a2 = tileA[row + ty + (2 * GroupSide)];
                var a3 = tileA[row + ty + (3 * GroupSide)];
                var b0 = tileB[row + tx];
                var b1 = tileB[row + tx + GroupSide];
                var b2 = tileB[row + tx + (2 * GroupSide)];
                var b3 = tileB[row + tx + (3 * GroupSide)];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }

            Group.Barrier();
        }

        // Parts write packed partials (part, M, N) for SumSplitsKernel; a whole product writes c with its layout.
        var target = parts > 1 ? partials.SubView((long)part * s.M * s.N, (long)s.M * s.N) : c;
        var targetBase = parts > 1 ? 0L : cBase;
        var ldc = parts > 1 ? s.N : layout.Ldc;
        var accumulate = parts == 1 && s.Accumulate != 0;
        var hasBias = parts == 1 && s.HasBias != 0;
        var mt = m0 + ty;
        var nt = n0 + tx;
        StoreRow(target, bias, s, targetBase, ldc, accumulate, hasBias, mt, nt, c00, c01, c02, c03);
        StoreRow(target, bias, s, targetBase, ldc, accumulate, hasBias, mt + GroupSide, nt, c10, c11, c12, c13);
        StoreRow(target, bias, s, targetBase, ldc, accumulate, hasBias, mt + (2 * GroupSide), nt, c20, c21, c22, c23);
        StoreRow(target, bias, s, targetBase, ldc, accumulate, hasBias, mt + (3 * GroupSide), nt, c30, c31, c32, c33);
    }

    // Element (m, k) of op(A). For the convolution passes the transpose flags only say which index is
    // contiguous in memory (so loads coalesce); the address comes from the gather.
    private static float LoadA(ArrayView<float> a, GemmShape s, GemmLayout layout, GemmDropout dropout, int operands, Conv2dShape conv, long aBase, int m, int k)
    {
        if (operands == (int)GemmOperands.ConvInputGradient)
        {
            // weight (Cout, Cin, K, K) read as (Cin, Cout·K·K): m = ci, k = (co, kh, kw).
            var taps = conv.Kernel * conv.Kernel;
            return a[((((long)(k / taps) * conv.InChannels) + m) * taps) + (k % taps)];
        }

        if (operands == (int)GemmOperands.ConvWeightGradient)
        {
            // doutput (B, Cout, Ho·Wo) read as (Cout, B·Ho·Wo): m = co, k = (b, position).
            var positions = conv.OutHeight * conv.OutWidth;
            return a[((((long)(k / positions) * conv.OutChannels) + m) * positions) + (k % positions)];
        }

        var index = aBase + (s.TransposeA != 0 ? ((long)k * layout.Lda) + m : ((long)m * layout.Lda) + k);
        return dropout.Apply(index, a[index]);
    }

    // Element (k, n) of op(B) for product z.
    private static float LoadB(ArrayView<float> b, GemmShape s, GemmLayout layout, int operands, Conv2dShape conv, long bBase, int z, int k, int n)
    {
        if (operands == (int)GemmOperands.ConvForward)
        {
            return Unfolded(b, conv, z, k, n);
        }

        if (operands == (int)GemmOperands.ConvInputGradient)
        {
            return OutputTap(b, conv, z, k, n);
        }

        if (operands == (int)GemmOperands.ConvWeightGradient)
        {
            var positions = conv.OutHeight * conv.OutWidth;
            return Unfolded(b, conv, k / positions, n, k % positions);
        }

        return b[bBase + (s.TransposeB != 0 ? ((long)n * layout.Ldb) + k : ((long)k * layout.Ldb) + n)];
    }

    // Element (row = (ci, kh, kw), column = (oh, ow)) of image z's unfolded input (im2col); zero in the padding.
    private static float Unfolded(ArrayView<float> input, Conv2dShape c, int z, int row, int column)
    {
        var taps = c.Kernel * c.Kernel;
        var (ci, tap) = (row / taps, row % taps);
        var h = (column / c.OutWidth * c.Stride) + (tap / c.Kernel) - c.Padding;
        var w = (column % c.OutWidth * c.Stride) + (tap % c.Kernel) - c.Padding;
        return h >= 0 && h < c.Height && w >= 0 && w < c.Width
            ? input[(((((long)z * c.InChannels) + ci) * c.Height) + h) * c.Width + w]
            : 0f;
    }

    // Element (row = (co, kh, kw), column = (h, w)) for the input gradient: doutput[z, co, oh, ow] of the output
    // position that reads input (h, w) through tap (kh, kw); zero where the stride or the border leaves none.
    private static float OutputTap(ArrayView<float> doutput, Conv2dShape c, int z, int row, int column)
    {
        var taps = c.Kernel * c.Kernel;
        var (co, tap) = (row / taps, row % taps);
        var th = (column / c.Width) + c.Padding - (tap / c.Kernel);
        var tw = (column % c.Width) + c.Padding - (tap % c.Kernel);
        if (th < 0 || tw < 0 || th % c.Stride != 0 || tw % c.Stride != 0)
        {
            return 0f;
        }

        var (oh, ow) = (th / c.Stride, tw / c.Stride);
        return oh < c.OutHeight && ow < c.OutWidth
            ? doutput[(((((long)z * c.OutChannels) + co) * c.OutHeight) + oh) * c.OutWidth + ow]
            : 0f;
    }

    // One thread row of four outputs (m, n + 16j) at cBase + m·ldc + n, each stored only inside the matrix.
    private static void StoreRow(ArrayView<float> c, ArrayView<float> bias, GemmShape s, long cBase, int ldc, bool accumulate, bool hasBias, int m, int n, float v0, float v1, float v2, float v3)
    {
        if (m >= s.M)
        {
            return;
        }

        var row = cBase + ((long)m * ldc);
        StoreAt(c, bias, row, n, s.N, accumulate, hasBias, v0);
        StoreAt(c, bias, row, n + GroupSide, s.N, accumulate, hasBias, v1);
        StoreAt(c, bias, row, n + (2 * GroupSide), s.N, accumulate, hasBias, v2);
        StoreAt(c, bias, row, n + (3 * GroupSide), s.N, accumulate, hasBias, v3);
    }

    private static void StoreAt(ArrayView<float> c, ArrayView<float> bias, long row, int n, int columns, bool accumulate, bool hasBias, float value)
    {
        if (n < columns)
        {
            var sum = hasBias ? value + bias[n] : value;
            c[row + n] = accumulate ? c[row + n] + sum : sum;
        }
    }

    // One item per output element, grid-stride: the parts' sums in part order, then bias and accumulate.
    private static void SumSplitsKernel(Index1D index, int stride, int count, ArrayView<float> c, ArrayView<float> partials, ArrayView<float> bias, GemmShape s, int parts)
    {
        for (long item = index; item < count; item += stride)
        {
            var sum = 0f;
            for (var p = 0; p < parts; p++)
            {
                sum += partials[(p * (long)count) + item];
            }

            Store(c, bias, s, (int)(item / s.N), (int)(item % s.N), sum);
        }
    }

    private static void Store(ArrayView<float> c, ArrayView<float> bias, GemmShape s, int m, int n, float sum)
    {
        var i = ((long)m * s.N) + n;
        if (s.HasBias != 0)
        {
            sum += bias[n];
        }

        c[i] = s.Accumulate != 0 ? c[i] + sum : sum;
    }
}
