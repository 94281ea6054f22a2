using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// Dimensions and flags of one matrix product C (M, N) = op(A) (M, K) · op(B) (K, N) [+ bias (N)] [+ C].
/// op(A) reads A as (K, M) when TransposeA is set; op(B) reads B as (N, K) when TransposeB is set.
/// </summary>
public readonly record struct GemmShape(int M, int N, int K, int TransposeA, int TransposeB, int Accumulate, int HasBias)
{
    public float A(ArrayView<float> a, int m, int k) => TransposeA != 0 ? a[(long)k * M + m] : a[(long)m * K + k];

    public float B(ArrayView<float> b, int k, int n) => TransposeB != 0 ? b[(long)n * K + k] : b[(long)k * N + n];
}

/// <summary>
/// Dense fp32 matrix product, the workhorse of Linear. Two variants with the same results: a
/// 16x16 shared-memory tiled kernel for GPUs, and a barrier-free kernel for ILGPU's CPU simulator,
/// where barriers cost ~1000x (docs/cpu-accelerator.md).
/// </summary>
public sealed class MatMul
{
    public const int Tile = 16;

    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> simple;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> tiled;

    private MatMul(ComputeDevice device)
    {
        this.device = device;
        simple = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(SimpleKernel);
        tiled = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(TiledKernel);
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

    internal void RunSimple(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, GemmShape shape)
    {
        var count = shape.M > 0 && shape.N > 0 ? (int)((long)shape.M * shape.N) : 0;
        var threads = device.Threads(count);
        if (threads > 0)
        {
            simple(threads, threads, count, c, a, b, bias, shape);
        }
    }

    internal void RunTiled(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, GemmShape shape)
    {
        if (shape.M > 0 && shape.N > 0)
        {
            var grid = new Index2D((shape.N + Tile - 1) / Tile, (shape.M + Tile - 1) / Tile);
            tiled(new KernelConfig(grid, new Index2D(Tile, Tile)), c, a, b, bias, shape);
        }
    }

    // One item per output element, grid-stride (ComputeDevice.Threads); a long counter, as index + stride
    // can pass int.MaxValue where stride is the item count.
    private static void SimpleKernel(Index1D index, int stride, int count, ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, GemmShape s)
    {
        for (long item = index; item < count; item += stride)
        {
            var i = (int)item;
            var m = i / s.N;
            var n = i % s.N;
            var sum = 0f;
            for (var k = 0; k < s.K; k++)
            {
                sum += s.A(a, m, k) * s.B(b, k, n);
            }

            Store(c, bias, s, m, n, sum);
        }
    }

    // One 16x16 group per output tile; the loop walks K (not M, the bug in ILGPU's own sample).
    private static void TiledKernel(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, GemmShape s)
    {
        var tileA = SharedMemory.Allocate<float>(Tile * Tile);
        var tileB = SharedMemory.Allocate<float>(Tile * Tile);
        var tx = Group.IdxX;
        var ty = Group.IdxY;
        var n = (Grid.IdxX * Tile) + tx;
        var m = (Grid.IdxY * Tile) + ty;
        var sum = 0f;
        for (var k0 = 0; k0 < s.K; k0 += Tile)
        {
            var ka = k0 + tx;
            var kb = k0 + ty;
            tileA[(ty * Tile) + tx] = m < s.M && ka < s.K ? s.A(a, m, ka) : 0f;
            tileB[(ty * Tile) + tx] = kb < s.K && n < s.N ? s.B(b, kb, n) : 0f;
            Group.Barrier();
            for (var k = 0; k < Tile; k++)
            {
                sum += tileA[(ty * Tile) + k] * tileB[(k * Tile) + tx];
            }

            Group.Barrier();
        }

        if (m < s.M && n < s.N)
        {
            Store(c, bias, s, m, n, sum);
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
