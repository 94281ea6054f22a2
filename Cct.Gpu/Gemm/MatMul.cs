using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Gemm;

/// <summary>
/// Dense fp32 matrix product, the workhorse of Linear, attention and (as implicit GEMMs) Conv2d. Two variants
/// with the same results: a register-blocked shared-memory kernel for GPUs, generic over how it reads its
/// operands (<see cref="IGemmOperand"/>) and its tile (<see cref="IGemmTile"/>), and a barrier-free kernel
/// for ILGPU's CPU simulator, where barriers cost ~1000x (docs/cpu-accelerator.md).
/// </summary>
internal sealed class MatMul
{
    /// <summary>Threads per group side of the large tile (128x128 outputs, 8x8 per thread).</summary>
    public const int GroupSide = 16;

    /// <summary>K slice staged in shared memory per step.</summary>
    public const int TileK = 8;

    // Shared rows (TileK, SharedStride) hold the large tile's 128 rows padded by 4 floats: 16-byte aligned rows
    // for the fragment loads, and a warp's k-contiguous stores (4 rows x 8 k) land on 32 distinct banks
    // (132 ≡ 4 mod 32; MatMulTests counts the conflicts of every access).
    internal const int SharedStride = 132;

    // Elements of a slice each thread loads: Side·TileK / GroupSide² = 4 for both tiles.
    internal const int LoadsPerThread = 4;

    // Outputs per item of the CPU kernel: the simulator's cost is in ArrayView accesses, so one A load feeds four.
    private const int CpuLanes = 4;

    // A split of K is worth its extra pass only when it still has this many K values to sum.
    private const int MinSplitK = 256;

    // Parts at most, unless the partials are few: at most SmallPartials values (4 MB) in all, a product splits as far as
    // the waves ask. A first convolution's weight gradient (cct-2/3x2: 64 x 9 outputs over K = 512 x 784 images' positions)
    // is one large-tile group; at 32 parts it ran on 32 of 132 SMs, 1,568 K steps of 862 instructions (8 warps) each,
    // about 1.4 ms of a 13 ms step (issue-bound estimate, 4 instructions a cycle at 1.98 GHz); at the waves' 523 parts
    // (528 asked, rounded to whole K steps), 4 an SM, about 0.33 ms plus the summing pass (576 threads adding 523
    // partials each, some 20-80 us), with 1.2 MB of partials. Products of up to 2^15 outputs may also pass 32 parts:
    // cct-2/3x2's fp32 128 x 128 Linear weight gradients take 64 at batch 512.
    private const int MaxSplits = 32;

    // The small tile's convolution K loops issue up to this many times the large tile's SASS instructions an FFMA (PTX
    // report, ptxas 11.8, sm_90): the tap-major input gradient 255 for 128 FFMA against 666 for 512 (1.53x), the weight
    // gradient 319 against 732 (1.74x). So a gradient runs on it where the large tile would pad its outputs more than that:
    // cct-2/3x2's second input gradient (64 x 196 an image: 1.5x less issue, 0.875 of the small tile's outputs used
    // against 0.383 of the large one's) and the first weight gradients (64 x 9 or 256 x 9: 4.6x and 2.3x less).
    private const double SmallTileIssue = 1.75;
    private const long SmallPartials = 1 << 20;

    // Groups per multiprocessor a split of K aims at: two waves of the two 256-thread groups that fit at ≤ 128 registers.
    private const int GroupsPerMultiprocessor = 4;
    private const int ResidentGroups = 2;

    // The kernels are specialised (.maxntid, .minnctapersm) so ptxas keeps them within MaxRegisters per thread:
    // two large-tile groups per multiprocessor of a 64K-register file (H100), where ptxas alone chose 150.
    private const int MaxRegisters = 128;
    private const int RegisterFile = 65536;

    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> simple;

    // Run's one kernel on this device, chosen from its profile's kernel family when the set is loaded.
    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> runPath;
    private readonly Action<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, int> sumSplits;

    // Dense products op(A) · op(B): op(A) is RowMajor unless A is transposed, op(B)ᵀ is RowMajor when B is.
    private readonly Blocked<RowMajor, ColumnMajor> denseNN;
    private readonly Blocked<RowMajor, RowMajor> denseNT;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, RowMajor, RowMajor, GemmShape, GemmLayout, int, int, ArrayView<float>> denseNTGelu;
    private readonly Blocked<ColumnMajor, ColumnMajor> denseTN;
    private readonly Blocked<ColumnMajor, RowMajor> denseTT;

    // Attention's per-head products (no Aᵀ · Bᵀ among them), on the small tile; those with dropout on A (P·V, Pᵀ·dO) apart, since the
    // dropout hash took the K loop's FFMA share from 51 % to 35 % (SASS, sm_90).
    private readonly Blocked<RowMajor, ColumnMajor> headsNN;
    private readonly Blocked<RowMajor, RowMajor> headsNT;
    private readonly Blocked<ColumnMajor, ColumnMajor> headsTN;
    private readonly Blocked<Dropped<RowMajor>, ColumnMajor> droppedNN;
    private readonly Blocked<Dropped<ColumnMajor>, ColumnMajor> droppedTN;

    // Linear's backward: dinput and dweight as in denseNN and denseTN, and the bias sums, in one launch.
    private readonly Action<KernelConfig, GemmProblem<RowMajor, ColumnMajor>, GemmProblem<ColumnMajor, ColumnMajor>, BiasSums> linearBackward;

    // Convolution passes as implicit GEMMs.
    private readonly Blocked<RowMajor, UnfoldedInput> convForward;
    private readonly Blocked<WeightTaps, OutputTaps> convInputGradient;
    private readonly Blocked<OutputGradientRows, UnfoldedBatch> convWeightGradient;

    // The same with K in tap-major order, where the channels summed over are a multiple of TileK (and, for the input
    // gradient, the stride is 1): a K step then lies in one tap, which the gathers work out once a step for a thread's
    // four elements instead of once an element (TapMajorUnfoldedInput): K loops of 667 and 696 SASS instructions for
    // 512 FFMA, where the (ci, kh, kw) order's are 750 and 847 (ptxas 11.8, sm_90).
    private readonly Blocked<TapMajorWeights, TapMajorUnfoldedInput> convForwardTapMajor;
    private readonly Blocked<TapMajorWeightTaps, TapMajorOutputTaps> convInputGradientTapMajor;

    // The input and weight gradients on the small tile, for the products the large one would mostly pad (UsesSmallTile):
    // cct-2/3x2's second input gradient (64 x 196 outputs an image) and every first weight gradient (Cout x 9).
    private readonly Blocked<TapMajorWeightTaps, TapMajorOutputTaps> convInputGradientTapMajorSmall;
    private readonly Blocked<OutputGradientRows, UnfoldedBatch> convWeightGradientSmall;

    private MatMul(ComputeDevice device)
    {
        this.device = device;
        var accelerator = device.Accelerator;
        simple = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(SimpleKernel);
        sumSplits = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, int>(SumSplitsKernel);
        denseNN = Blocked<RowMajor, ColumnMajor>.Load<LargeTile>(accelerator, BlockedKernel<RowMajor, ColumnMajor, LargeTile>);
        denseNT = Blocked<RowMajor, RowMajor>.Load<LargeTile>(accelerator, BlockedKernel<RowMajor, RowMajor, LargeTile>);
        denseNTGelu = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, RowMajor, RowMajor, GemmShape, GemmLayout, int, int, ArrayView<float>>(
            BlockedKernelGelu<RowMajor, RowMajor, LargeTile>, Specialization<LargeTile>(accelerator));
        denseTN = Blocked<ColumnMajor, ColumnMajor>.Load<LargeTile>(accelerator, BlockedKernel<ColumnMajor, ColumnMajor, LargeTile>);
        denseTT = Blocked<ColumnMajor, RowMajor>.Load<LargeTile>(accelerator, BlockedKernel<ColumnMajor, RowMajor, LargeTile>);
        headsNN = Blocked<RowMajor, ColumnMajor>.Load<SmallTile>(accelerator, BlockedKernel<RowMajor, ColumnMajor, SmallTile>);
        headsNT = Blocked<RowMajor, RowMajor>.Load<SmallTile>(accelerator, BlockedKernel<RowMajor, RowMajor, SmallTile>);
        headsTN = Blocked<ColumnMajor, ColumnMajor>.Load<SmallTile>(accelerator, BlockedKernel<ColumnMajor, ColumnMajor, SmallTile>);
        droppedNN = Blocked<Dropped<RowMajor>, ColumnMajor>.Load<SmallTile>(accelerator, BlockedKernel<Dropped<RowMajor>, ColumnMajor, SmallTile>);
        droppedTN = Blocked<Dropped<ColumnMajor>, ColumnMajor>.Load<SmallTile>(accelerator, BlockedKernel<Dropped<ColumnMajor>, ColumnMajor, SmallTile>);
        convForward = Blocked<RowMajor, UnfoldedInput>.Load<LargeTile>(accelerator, BlockedKernel<RowMajor, UnfoldedInput, LargeTile>);
        convInputGradient = Blocked<WeightTaps, OutputTaps>.Load<LargeTile>(accelerator, BlockedKernel<WeightTaps, OutputTaps, LargeTile>);
        convWeightGradient = Blocked<OutputGradientRows, UnfoldedBatch>.Load<LargeTile>(accelerator, BlockedKernel<OutputGradientRows, UnfoldedBatch, LargeTile>);
        convForwardTapMajor = Blocked<TapMajorWeights, TapMajorUnfoldedInput>.Load<LargeTile>(accelerator, BlockedKernel<TapMajorWeights, TapMajorUnfoldedInput, LargeTile>);
        convInputGradientTapMajor = Blocked<TapMajorWeightTaps, TapMajorOutputTaps>.Load<LargeTile>(accelerator, BlockedKernel<TapMajorWeightTaps, TapMajorOutputTaps, LargeTile>);
        convInputGradientTapMajorSmall = Blocked<TapMajorWeightTaps, TapMajorOutputTaps>.Load<SmallTile>(accelerator, BlockedKernel<TapMajorWeightTaps, TapMajorOutputTaps, SmallTile>);
        convWeightGradientSmall = Blocked<OutputGradientRows, UnfoldedBatch>.Load<SmallTile>(accelerator, BlockedKernel<OutputGradientRows, UnfoldedBatch, SmallTile>);
        linearBackward = accelerator.LoadStreamKernel<GemmProblem<RowMajor, ColumnMajor>, GemmProblem<ColumnMajor, ColumnMajor>, BiasSums>(
            BlockedKernelPair<RowMajor, ColumnMajor, ColumnMajor, ColumnMajor, LargeTile, BiasSums>, Specialization<LargeTile>(accelerator));
        runPath = device.Profile.Kernels switch
        {
            KernelFamily.Grouped => (c, a, b, bias, shape) => RunTiled(c, a, b, bias, shape),
            KernelFamily.RegisterTiles => RegisterTileGemm.For(device).Run,
            _ => RunSimple,
        };
    }

    public static MatMul For(ComputeDevice device) => device.Kernels(static d => new MatMul(d));

    /// <summary>c (M, N) = op(a) · op(b) [+ bias (N)] [+ c], with the variant that suits the device.</summary>
    public void Run(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, GemmShape shape)
    {
        using var profile = device.Time("MatMul.Run");
        runPath(c, a, b, bias, shape);
    }

    /// <summary>
    /// How many parts K is split into so that the product fills the device: at least
    /// <see cref="GroupsPerMultiprocessor"/> large-tile groups per multiprocessor, and as many parts as the last
    /// wave of <see cref="ResidentGroups"/> per multiprocessor holds, at most <see cref="MaxSplits"/> unless the partials
    /// take under <see cref="SmallPartials"/> values. Weight gradients (K = batch x tokens, small M x N) need it; forward
    /// products (M = batch x tokens) already have groups enough and get 1.
    /// </summary>
    public static int SplitsFor(GemmShape shape, int multiprocessors)
    {
        var slots = (long)ResidentGroups * Math.Max(1, multiprocessors);
        var groups = (long)Blocks(shape.M, Side<LargeTile>()) * Blocks(shape.N, Side<LargeTile>());
        var wanted = ((GroupsPerMultiprocessor * (long)Math.Max(1, multiprocessors)) + groups - 1) / Math.Max(1, groups);
        var waves = ((groups * wanted) + slots - 1) / slots;
        var most = Math.Max(MaxSplits, SmallPartials / Math.Max(1L, (long)shape.M * shape.N));
        return (int)Math.Clamp(Math.Min(waves * slots / Math.Max(1, groups), shape.K / MinSplitK), 1, most);
    }

    /// <summary>
    /// Whether a convolution gradient's product runs on the small tile: when the large tile's outputs, padded to whole
    /// tiles, exceed <see cref="SmallTileIssue"/> times the small tile's. Its K loops issue that much more per FFMA.
    /// </summary>
    internal static bool UsesSmallTile(GemmShape shape)
        => SmallTileIssue * PaddedOutputs(shape, Side<SmallTile>()) < PaddedOutputs(shape, Side<LargeTile>());

    /// <summary>The fraction of a tile's multiply-adds spent on padding: M, N rounded up to the tile side, K to <see cref="TileK"/>.</summary>
    private static double PaddedOutputs(GemmShape shape, int side) => (double)Blocks(shape.M, side) * side * Blocks(shape.N, side) * side;

    internal static double WastedWork(GemmShape shape, int side)
    {
        var padded = (double)Blocks(shape.M, side) * side * Blocks(shape.N, side) * side * Blocks(shape.K, TileK) * TileK;
        return 1.0 - ((double)shape.M * shape.N * shape.K / padded);
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
    {
        var l = GemmLayout.Packed(shape);
        CheckSpans(shape, l);
        var rowsA = new RowMajor(a, l.Lda, l.Heads, l.ABatch, l.AHead);
        var columnsA = new ColumnMajor(a, l.Lda, l.Heads, l.ABatch, l.AHead);
        var rowsB = new RowMajor(b, l.Ldb, l.Heads, l.BBatch, l.BHead);
        var columnsB = new ColumnMajor(b, l.Ldb, l.Heads, l.BBatch, l.BHead);
        switch (shape.TransposeA != 0, shape.TransposeB != 0)
        {
            case (false, false):
                Launch(denseNN, c, rowsA, columnsB, bias, shape, l, splits);
                break;
            case (false, true):
                Launch(denseNT, c, rowsA, rowsB, bias, shape, l, splits);
                break;
            case (true, false):
                Launch(denseTN, c, columnsA, columnsB, bias, shape, l, splits);
                break;
            default:
                Launch(denseTT, c, columnsA, rowsB, bias, shape, l, splits);
                break;
        }
    }

    /// <summary>
    /// The GPU kernel on its small tile over <paramref name="layout"/>.Count strided products at once (no bias, no
    /// split of K): c_z (M, N) [+]= op(a_z) · op(b_z), with <paramref name="dropout"/> applied to a as it is read
    /// (instantiated as attention uses them: no aᵀ · bᵀ, and dropout with an untransposed b, as in P·V and Pᵀ·dO).
    /// </summary>
    internal void RunBatched(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, GemmShape shape, GemmLayout layout, GemmDropout dropout)
    {
        using var profile = device.Time("MatMul.RunBatched");
        var l = layout;
        CheckSpans(shape, l);
        var rowsA = new RowMajor(a, l.Lda, l.Heads, l.ABatch, l.AHead);
        var columnsA = new ColumnMajor(a, l.Lda, l.Heads, l.ABatch, l.AHead);
        var rowsB = new RowMajor(b, l.Ldb, l.Heads, l.BBatch, l.BHead);
        var columnsB = new ColumnMajor(b, l.Ldb, l.Heads, l.BBatch, l.BHead);
        var s = shape with { HasBias = 0 };
        switch (shape.TransposeA != 0, shape.TransposeB != 0, dropout.Probability != 0f)
        {
            case (false, false, false):
                Launch(headsNN, c, rowsA, columnsB, a, s, l, 1);
                break;
            case (false, true, false):
                Launch(headsNT, c, rowsA, rowsB, a, s, l, 1);
                break;
            case (true, false, false):
                Launch(headsTN, c, columnsA, columnsB, a, s, l, 1);
                break;
            case (false, false, true):
                Launch(droppedNN, c, new Dropped<RowMajor>(rowsA, dropout), columnsB, a, s, l, 1);
                break;
            case (true, false, true):
                Launch(droppedTN, c, new Dropped<ColumnMajor>(columnsA, dropout), columnsB, a, s, l, 1);
                break;
            default:
                throw new NotSupportedException("attention's products are instantiated: op(A) · op(B) but for Aᵀ · Bᵀ, and dropout only with an untransposed B");
        }
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
        CheckSpan(conv.InChannels, pixels);
        CheckSpan(conv.OutChannels, positions);
        CheckSpan(conv.OutChannels * conv.InChannels, taps);
        switch (pass)
        {
            case GemmOperands.ConvForward:
                var forward = new GemmShape(conv.OutChannels, positions, conv.InChannels * taps, 0, 0, 0, 0);
                var forwardLayout = new GemmLayout(conv.Batch, 1, 0, 0, positions, 0, 0, 0, 0, (long)conv.OutChannels * positions, 0);
                if (conv.InChannels % TileK == 0)
                {
                    Launch(convForwardTapMajor, c, new TapMajorWeights(a, conv), new TapMajorUnfoldedInput(b, conv), a, forward, forwardLayout, 1);
                }
                else
                {
                    Launch(convForward, c, new RowMajor(a, conv.InChannels * taps, 1, 0, 0), new UnfoldedInput(b, conv), a, forward, forwardLayout, 1);
                }

                break;
            case GemmOperands.ConvInputGradient:
                var input = new GemmShape(conv.InChannels, pixels, conv.OutChannels * taps, 0, 0, 1, 0);
                var inputLayout = new GemmLayout(conv.Batch, 1, 0, 0, pixels, 0, 0, 0, 0, (long)conv.InChannels * pixels, 0);
                if (conv.OutChannels % TileK == 0 && conv.Stride == 1)
                {
                    Launch(UsesSmallTile(input) ? convInputGradientTapMajorSmall : convInputGradientTapMajor, c, new TapMajorWeightTaps(a, conv), new TapMajorOutputTaps(b, conv), a, input, inputLayout, 1);
                }
                else
                {
                    Launch(convInputGradient, c, new WeightTaps(a, conv), new OutputTaps(b, conv), a, input, inputLayout, 1);
                }

                break;
            case GemmOperands.ConvWeightGradient:
                var shape = new GemmShape(conv.OutChannels, conv.InChannels * taps, conv.Batch * positions, 0, 1, 1, 0);
                Launch(UsesSmallTile(shape) ? convWeightGradientSmall : convWeightGradient, c, new OutputGradientRows(a, conv), new UnfoldedBatch(b, conv), a, shape,
                    new GemmLayout(1, 1, 0, 0, conv.InChannels * taps, 0, 0, 0, 0, 0, 0), splits);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(pass), pass, "not a convolution pass");
        }
    }

    /// <summary>
    /// The GPU kernel's Linear backward in one launch: dinput (rows, in) += doutput (rows, out) · weight (out, in) and
    /// dweight (out, in) += doutputᵀ · input (rows, in), as <see cref="RunTiled"/> computes each, and the bias sums in
    /// <paramref name="biasGroups"/> groups after them (none without a bias). <paramref name="splits"/> overrides
    /// <see cref="SplitsFor"/> for dweight (tests use it on the simulator).
    /// </summary>
    internal void RunLinearBackward(ArrayView<float> dinput, ArrayView<float> dweight, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weight, int rows, int inFeatures, int outFeatures, BiasSums bias, int biasGroups, int? splits = null)
    {
        using var profile = device.Time("MatMul.RunLinearBackward");
        var inputShape = new GemmShape(rows, inFeatures, outFeatures, 0, 0, 1, 0);
        var weightShape = new GemmShape(outFeatures, inFeatures, rows, 1, 0, 1, 0);
        var (li, lw) = (GemmLayout.Packed(inputShape), GemmLayout.Packed(weightShape));
        CheckSpans(inputShape, li);
        CheckSpans(weightShape, lw);
        var (inputK, inputParts) = Plan(inputShape, li, null);
        var (weightK, weightParts) = Plan(weightShape, lw, splits);
        var inputOutputs = (long)rows * inFeatures;
        var weightOutputs = (long)outFeatures * inFeatures;
        var inputPartials = inputParts > 1 ? inputParts * inputOutputs : 0;
        var scratch = inputParts > 1 || weightParts > 1 ? device.Scratch(inputPartials + (weightParts > 1 ? weightParts * weightOutputs : 0)) : dinput;
        var side = Side<LargeTile>();
        var first = new GemmProblem<RowMajor, ColumnMajor>(
            dinput, inputParts > 1 ? scratch.SubView(0, inputPartials) : dinput, dinput, new RowMajor(doutput, li.Lda, 1, 0, 0), new ColumnMajor(weight, li.Ldb, 1, 0, 0),
            inputShape, li, inputK, inputParts, Blocks(inputShape.N, side), Blocks(inputShape.M, side));
        var second = new GemmProblem<ColumnMajor, ColumnMajor>(
            dweight, weightParts > 1 ? scratch.SubView(inputPartials, weightParts * weightOutputs) : dweight, dweight, new ColumnMajor(doutput, lw.Lda, 1, 0, 0), new ColumnMajor(input, lw.Ldb, 1, 0, 0),
            weightShape, lw, weightK, weightParts, Blocks(weightShape.N, side), Blocks(weightShape.M, side));
        var groups = (long)first.Groups + second.Groups + biasGroups;
        if (groups == 0)
        {
            return;
        }

        linearBackward(new KernelConfig(new Index3D(checked((int)groups), 1, 1), new Index3D(GroupSide, GroupSide, 1)), first, second, bias);
        SumSplits(first.C, first.Partials, first.Bias, inputShape, inputParts);
        SumSplits(second.C, second.Partials, second.Bias, weightShape, weightParts);
    }

    /// <summary>
    /// The GPU kernel's Linear → GELU forward: output (rows, out) = input (rows, in) · weight (out, in)ᵀ + bias (out) as
    /// <see cref="RunTiled"/> computes it, and activated (rows, out) = gelu(output) in the same launch. A product whose K is
    /// split runs GELU after its summing pass instead.
    /// </summary>
    internal void RunForwardGelu(ArrayView<float> output, ArrayView<float> activated, ArrayView<float> input, ArrayView<float> weight, ArrayView<float> bias, int rows, int inFeatures, int outFeatures)
    {
        using var profile = device.Time("MatMul.RunForwardGelu");
        var shape = new GemmShape(rows, outFeatures, inFeatures, 0, 1, 0, 1);
        var l = GemmLayout.Packed(shape);
        CheckSpans(shape, l);
        var (kPerSplit, parts) = Plan(shape, l, null);
        if (parts > 1)
        {
            RunTiled(output, input, weight, bias, shape);
            Gelu.For(device).Forward(activated, output, (long)rows * outFeatures);
            return;
        }

        if (rows > 0 && outFeatures > 0)
        {
            var side = Side<LargeTile>();
            var grid = new Index3D(Blocks(outFeatures, side), Blocks(rows, side), 1);
            denseNTGelu(new KernelConfig(grid, new Index3D(GroupSide, GroupSide, 1)), output, output, bias, new RowMajor(input, l.Lda, 1, 0, 0), new RowMajor(weight, l.Ldb, 1, 0, 0), shape, l, kPerSplit, 1, activated);
        }
    }

    // One launch of a blocked kernel; K is split only for a single product with a packed output.
    private void Launch<TA, TB>(Blocked<TA, TB> kernel, ArrayView<float> c, TA a, TB b, ArrayView<float> bias, GemmShape shape, GemmLayout layout, int? splits)
        where TA : struct, IGemmOperand
        where TB : struct, IGemmOperand
    {
        if (shape.M <= 0 || shape.N <= 0 || layout.Count <= 0)
        {
            return;
        }

        var (kPerSplit, parts) = Plan(shape, layout, splits);
        var partials = parts > 1 ? device.Scratch(parts * (long)shape.M * shape.N) : c;
        var grid = new Index3D(Blocks(shape.N, kernel.Side), Blocks(shape.M, kernel.Side), layout.Count * parts);
        kernel.Launch(new KernelConfig(grid, new Index3D(kernel.GroupSide, kernel.GroupSide, 1)), c, partials, bias, a, b, shape, layout, kPerSplit, parts);
        SumSplits(c, partials, bias, shape, parts);
    }

    // The K values per part and the parts of a product: K is split only for a single product.
    private (int KPerSplit, int Parts) Plan(GemmShape shape, GemmLayout layout, int? splits)
    {
        var parts = layout.Count == 1 ? Math.Max(1, splits ?? SplitsFor(shape, device.Accelerator.NumMultiprocessors)) : 1;
        var kPerSplit = (((Math.Max(1, shape.K) + parts - 1) / parts) + TileK - 1) / TileK * TileK;
        return (kPerSplit, Math.Max(1, (shape.K + kPerSplit - 1) / kPerSplit));
    }

    // c = the parts' partials summed (bias, accumulate), after a launch that split K into several parts.
    /// <summary>
    /// c (m, n) += Σ over parts of partials (parts, m, n), part by part in order: the split-K sum, for another GEMM's
    /// partial products (TensorCoreGemm's weight gradients) in <see cref="ComputeDevice.Scratch"/>.
    /// </summary>
    internal void AddSplits(ArrayView<float> c, ArrayView<float> partials, int m, int n, int parts)
        => SumSplits(c, partials, c, new GemmShape(m, n, 1, 0, 0, 1, 0), parts);

    private void SumSplits(ArrayView<float> c, ArrayView<float> partials, ArrayView<float> bias, GemmShape shape, int parts)
    {
        var outputs = (long)shape.M * shape.N;
        if (parts > 1 && outputs > 0)
        {
            var threads = device.Threads(outputs);
            sumSplits(threads, threads, checked((int)outputs), c, partials, bias, shape, parts);
        }
    }

    // The operands index inside one product (image) in 32-bit arithmetic, which kept the dense kernels within 128
    // registers without spills (64-bit indices spilled 8–64 bytes): each product's span must fit.
    private static void CheckSpans(GemmShape s, GemmLayout l)
    {
        CheckSpan(s.TransposeA != 0 ? s.K : s.M, l.Lda);
        CheckSpan(s.TransposeB != 0 ? s.N : s.K, l.Ldb);
    }

    private static void CheckSpan(int rows, int ld)
    {
        if ((long)rows * ld > int.MaxValue)
        {
            throw new NotSupportedException($"a GEMM operand of {rows} rows of {ld} spans more than 2^31 elements");
        }
    }

    internal static int Side<TTile>()
        where TTile : struct, IGemmTile
        => default(TTile).GroupSide * 4 * default(TTile).Fragments;

    private static int Blocks(int n, int side) => (n + side - 1) / side;

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

    // One GroupSide² group per Side x Side output tile and K part (grid z): thread (tx, ty) owns the 4x4 blocks at
    // rows 4·ty + 4·GroupSide·f and columns 4·tx + 4·GroupSide·g (f, g < Fragments), read from shared memory as
    // 16-byte fragments (a warp reads 2 distinct A and 16 consecutive B fragments: no bank conflicts). Each K
    // step stages a (Side, TileK) slice of op(A) and of op(B)ᵀ as [k][row], loaded along whichever index is
    // contiguous in memory; the next slice's loads are issued before this one's multiply-adds. With one part
    // the result goes to c (bias, accumulate); with several, each part writes its sum to partials (part, M, N)
    // for SumSplitsKernel.
    private static void BlockedKernel<TA, TB, TTile>(ArrayView<float> c, ArrayView<float> partials, ArrayView<float> bias, TA a, TB b, GemmShape s, GemmLayout layout, int kPerSplit, int parts)
        where TA : struct, IGemmOperand
        where TB : struct, IGemmOperand
        where TTile : struct, IGemmTile
        => Tile<TA, TB, TTile, GridTile, StoredOutput>(default, c, partials, bias, a, b, s, layout, kPerSplit, parts, default);

    // BlockedKernel with GELU of each stored output written to activated as well (Linear → GELU's forward, one launch
    // instead of two); for a product in one part.
    private static void BlockedKernelGelu<TA, TB, TTile>(ArrayView<float> c, ArrayView<float> partials, ArrayView<float> bias, TA a, TB b, GemmShape s, GemmLayout layout, int kPerSplit, int parts, ArrayView<float> activated)
        where TA : struct, IGemmOperand
        where TB : struct, IGemmOperand
        where TTile : struct, IGemmTile
        => Tile<TA, TB, TTile, GridTile, GeluOutput>(default, c, partials, bias, a, b, s, layout, kPerSplit, parts, new GeluOutput(activated));

    // Two products and a TWork in one launch of GroupSide² groups over a flat grid: the first product's groups, then
    // the second's, then TWork's (Linear's backward: dinput, dweight and the bias sums, one launch instead of three).
    // Each group runs the same code as in its own launch, so the results are the same bits.
    private static void BlockedKernelPair<TA1, TB1, TA2, TB2, TTile, TWork>(GemmProblem<TA1, TB1> first, GemmProblem<TA2, TB2> second, TWork work)
        where TA1 : struct, IGemmOperand
        where TB1 : struct, IGemmOperand
        where TA2 : struct, IGemmOperand
        where TB2 : struct, IGemmOperand
        where TTile : struct, IGemmTile
        where TWork : struct, IGroupWork
    {
        var g = Grid.IdxX;
        var secondAt = first.Groups;
        var workAt = secondAt + second.Groups;
        if (g < secondAt)
        {
            Tile<TA1, TB1, TTile>(first, new FlatTile(0, first.BlocksX, first.BlocksY));
        }
        else if (g < workAt)
        {
            Tile<TA2, TB2, TTile>(second, new FlatTile(secondAt, second.BlocksX, second.BlocksY));
        }
        else
        {
            var side = default(TTile).GroupSide;
            work.Run(g - workAt, Grid.DimX - workAt, (Group.IdxY * side) + Group.IdxX, side * side);
        }
    }

    private static void Tile<TA, TB, TTile>(GemmProblem<TA, TB> p, FlatTile place)
        where TA : struct, IGemmOperand
        where TB : struct, IGemmOperand
        where TTile : struct, IGemmTile
        => Tile<TA, TB, TTile, FlatTile, StoredOutput>(place, p.C, p.Partials, p.Bias, p.A, p.B, p.Shape, p.Layout, p.KPerSplit, p.Parts, default);

    private static void Tile<TA, TB, TTile, TPlace, TOutput>(TPlace place, ArrayView<float> c, ArrayView<float> partials, ArrayView<float> bias, TA a, TB b, GemmShape s, GemmLayout layout, int kPerSplit, int parts, TOutput output)
        where TA : struct, IGemmOperand
        where TB : struct, IGemmOperand
        where TTile : struct, IGemmTile
        where TPlace : struct, ITilePlace
        where TOutput : struct, IGemmOutput
    {
        var tile = default(TTile);
        var side = Side<TTile>();
        var sliceA = SharedMemory.Allocate<float>(TileK * SharedStride); // (TileK, SharedStride) [k][m]
        var sliceB = SharedMemory.Allocate<float>(TileK * SharedStride); // (TileK, SharedStride) [k][n]
        var tx = Group.IdxX;
        var ty = Group.IdxY;
        var thread = (ty * tile.GroupSide) + tx;
        // The thread's fragments and slice elements as constant offsets from one base each, so ptxas folds them
        // into the shared accesses' immediates instead of holding an address per access.
        var fragmentsA = sliceA.Cast<Float4>().SubView(ty); // (TileK, SharedStride / 4) from the thread's A fragment
        var fragmentsB = sliceB.Cast<Float4>().SubView(tx); // (TileK, SharedStride / 4) from the thread's B fragment
        var placeA = new SlicePlacement(a.AlongK, thread, side, tile.GroupSide * tile.GroupSide);
        var placeB = new SlicePlacement(b.AlongK, thread, side, tile.GroupSide * tile.GroupSide);
        var storeA = sliceA.SubView(SharedIndex(placeA.Row, placeA.K));
        var storeB = sliceB.SubView(SharedIndex(placeB.Row, placeB.K));
        var m0 = place.Y * side;
        var n0 = place.X * side;
        // Grid z runs over parts of K for one product, or over the products of a batch (one part each).
        var part = place.Z % parts;
        var z = place.Z / parts;
        var aOffset = a.Offset(z);
        var bOffset = b.Offset(z);
        a.ReadStepValues();
        b.ReadStepValues();
        var kBegin = part * kPerSplit;
        var kEnd = XMath.Min(s.K, kBegin + kPerSplit);
        // With K = 0 there is no element to clamp the loads to, and nothing to load.
        var nextA = kBegin < kEnd ? a.LoadSlice(aOffset, placeA, m0, s.M, kBegin, kEnd) : default;
        var nextB = kBegin < kEnd ? b.LoadSlice(bOffset, placeB, n0, s.N, kBegin, kEnd) : default;
        var sums = default(Accumulators);
        for (var k0 = kBegin; k0 < kEnd; k0 += TileK)
        {
            StoreSlice(storeA, nextA, placeA);
            StoreSlice(storeB, nextB, placeB);
            // Issued before the barrier, which ptxas does not move them across: left after it, they were scheduled
            // after 488 of the step's 512 FFMA, leaving their latency exposed at the next step's stores.
            nextA = a.LoadSlice(aOffset, placeA, m0, s.M, k0 + TileK, kEnd);
            nextB = b.LoadSlice(bOffset, placeB, n0, s.N, k0 + TileK, kEnd);
            Group.Barrier();
            // Unrolled by hand: ILGPU keeps a constant-count loop (one k per iteration, 81 SASS instructions for 64 FFMA).
            MultiplyStep(ref sums, fragmentsA, fragmentsB, 0, tile);
            MultiplyStep(ref sums, fragmentsA, fragmentsB, 1, tile);
            MultiplyStep(ref sums, fragmentsA, fragmentsB, 2, tile);
            MultiplyStep(ref sums, fragmentsA, fragmentsB, 3, tile);
            MultiplyStep(ref sums, fragmentsA, fragmentsB, 4, tile);
            MultiplyStep(ref sums, fragmentsA, fragmentsB, 5, tile);
            MultiplyStep(ref sums, fragmentsA, fragmentsB, 6, tile);
            MultiplyStep(ref sums, fragmentsA, fragmentsB, 7, tile);
            Group.Barrier();
        }

        // Parts write packed partials (part, M, N) for SumSplitsKernel; a whole product (z = place.Z) writes c with
        // its layout. The place's z is read again rather than part and z kept across the loop: that freed the
        // register the dense kernels otherwise spilled (8 bytes).
        var target = parts > 1 ? partials.SubView((long)(place.Z % parts) * s.M * s.N, (long)s.M * s.N) : c;
        var cOffset = parts > 1 ? 0L : ((long)(place.Z / layout.Heads) * layout.CBatch) + ((long)(place.Z % layout.Heads) * layout.CHead);
        var o = new OutputRows<TOutput>(output, target, bias, cOffset, parts > 1 ? s.N : layout.Ldc, s.M, s.N, parts == 1 && s.Accumulate != 0, parts == 1 && s.HasBias != 0);
        var wide = tile.Fragments > 1;
        var step = 4 * tile.GroupSide;
        var m = m0 + (4 * ty);
        var n = n0 + (4 * tx);
        o.Store(m, n, step, wide, sums.R0Lo, sums.R0Hi);
        o.Store(m + 1, n, step, wide, sums.R1Lo, sums.R1Hi);
        o.Store(m + 2, n, step, wide, sums.R2Lo, sums.R2Hi);
        o.Store(m + 3, n, step, wide, sums.R3Lo, sums.R3Hi);
        if (wide)
        {
            o.Store(m + step, n, step, wide, sums.R4Lo, sums.R4Hi);
            o.Store(m + step + 1, n, step, wide, sums.R5Lo, sums.R5Hi);
            o.Store(m + step + 2, n, step, wide, sums.R6Lo, sums.R6Hi);
            o.Store(m + step + 3, n, step, wide, sums.R7Lo, sums.R7Hi);
        }

        o.Finish(m, n, step, wide);
    }

    // Step k of a slice: the thread's A and B fragments (views starting at its fragment 0) into its accumulators.
    private static void MultiplyStep<TTile>(ref Accumulators sums, ArrayView<Float4> fragmentsA, ArrayView<Float4> fragmentsB, int k, TTile tile)
        where TTile : struct, IGemmTile
    {
        var a0 = fragmentsA[FragmentIndex(k, 0, 0, tile.GroupSide)];
        var b0 = fragmentsB[FragmentIndex(k, 0, 0, tile.GroupSide)];
        sums.Add(a0, b0);
        if (tile.Fragments > 1)
        {
            var a1 = fragmentsA[FragmentIndex(k, 1, 0, tile.GroupSide)];
            var b1 = fragmentsB[FragmentIndex(k, 1, 0, tile.GroupSide)];
            sums.AddWide(a0, a1, b0, b1);
        }
    }

    /// <summary>Index in a (TileK, SharedStride / 4) fragment view of the 4 rows at 4·lane + 4·groupSide·fragment, step k.</summary>
    internal static int FragmentIndex(int k, int fragment, int lane, int groupSide)
        => (k * (SharedStride / 4)) + (fragment * groupSide) + lane;

    /// <summary>Where a slice element (row, k) is stored in shared memory.</summary>
    internal static int SharedIndex(int row, int k) => (k * SharedStride) + row;

    /// <summary>
    /// The thread's LoadsPerThread elements of the slice at k0 of a (rows, K) operand, one element at a time
    /// (<see cref="IGemmElements.Load"/>); zero outside the operand or past kEnd. The operands' <see cref="IGemmOperand.LoadSlice"/>.
    /// </summary>
    internal static Float4 LoadEach<TOperand>(TOperand operand, long offset, SlicePlacement place, int row0, int rows, int k0, int kEnd)
        where TOperand : struct, IGemmElements
    {
        var row = row0 + place.Row;
        var k = k0 + place.K;
        return new Float4
        {
            X = LoadElement(operand, offset, row, rows, k, kEnd),
            Y = LoadElement(operand, offset, row + place.RowStep, rows, k + place.KStep, kEnd),
            Z = LoadElement(operand, offset, row + (2 * place.RowStep), rows, k + (2 * place.KStep), kEnd),
            W = LoadElement(operand, offset, row + (3 * place.RowStep), rows, k + (3 * place.KStep), kEnd),
        };
    }

    // Branch-free: the load reads a clamped element inside the operand (rows ≥ 1 and kEnd > kBegin where called) and
    // the guard selects zero, so ptxas can issue the next slice's loads ahead of the multiply-adds.
    private static float LoadElement<TOperand>(TOperand operand, long offset, int row, int rows, int k, int kEnd)
        where TOperand : struct, IGemmElements
    {
        var value = operand.Load(offset, XMath.Min(row, rows - 1), XMath.Min(k, kEnd - 1));
        return row < rows && k < kEnd ? value : 0f;
    }

    // Stores the thread's elements into a slice view starting at its first element.
    private static void StoreSlice(ArrayView<float> slice, Float4 values, SlicePlacement place)
    {
        var step = SharedIndex(place.RowStep, place.KStep);
        slice[0] = values.X;
        slice[step] = values.Y;
        slice[2 * step] = values.Z;
        slice[3 * step] = values.W;
    }

    // Where a group's outputs go: row m of the target at Offset + m·Ld, each stored only inside the (Rows, Columns) matrix.
    private readonly struct OutputRows<TOutput>(TOutput output, ArrayView<float> target, ArrayView<float> bias, long offset, int ld, int rows, int columns, bool accumulate, bool hasBias)
        where TOutput : struct, IGemmOutput
    {
        // After every Store: TOutput's pass over the thread's outputs, read back from the target, since calling it as
        // each was stored kept GELU's temporaries live beside the accumulators (88 bytes spilled, sm_90).
        public void Finish(int m, int n, int step, bool wide)
        {
            if (!output.ReadsBack)
            {
                return;
            }

            var span = wide ? 8 : 4;
            for (var i = 0; i < span; i++)
            {
                var r = m + (i % 4) + (i / 4 * step);
                var row = offset + ((long)r * ld);
                for (var j = 0; j < span; j++)
                {
                    var column = n + (j % 4) + (j / 4 * step);
                    if (r < rows && column < columns)
                    {
                        output.Stored(row + column, target[row + column]);
                    }
                }
            }
        }

        // Row m's outputs (n .. n+3) and, when wide, (n+step .. n+step+3).
        public void Store(int m, int n, int step, bool wide, Float4 lo, Float4 hi)
        {
            if (m >= rows)
            {
                return;
            }

            var row = offset + ((long)m * ld);
            Store4(row, n, lo);
            if (wide)
            {
                Store4(row, n + step, hi);
            }
        }

        private void Store4(long row, int n, Float4 v)
        {
            StoreAt(row, n, v.X);
            StoreAt(row, n + 1, v.Y);
            StoreAt(row, n + 2, v.Z);
            StoreAt(row, n + 3, v.W);
        }

        private void StoreAt(long row, int n, float value)
        {
            if (n < columns)
            {
                var sum = hasBias ? value + bias[n] : value;
                target[row + n] = accumulate ? target[row + n] + sum : sum;
            }
        }
    }

    /// <summary>
    /// Which elements of a (side, TileK) slice a thread loads: slot r (r &lt; LoadsPerThread) is (Row + r·RowStep,
    /// K + r·KStep). Consecutive threads run along k when the operand is contiguous along k, else along rows,
    /// so their global loads coalesce; the steps are constants in the kernel.
    /// </summary>
    internal readonly struct SlicePlacement
    {
        public readonly int Row;
        public readonly int K;
        public readonly int RowStep;
        public readonly int KStep;

        public SlicePlacement(bool alongK, int thread, int side, int threads)
        {
            Row = alongK ? thread / TileK : thread % side;
            K = alongK ? thread % TileK : thread / side;
            RowStep = alongK ? threads / TileK : 0;
            KStep = alongK ? 0 : threads / side;
        }
    }

    /// <summary>The CUDA specialisation of a blocked kernel over <paramref name="tile"/>: its group size, and enough groups per SM that ptxas stays within MaxRegisters.</summary>
    internal static KernelSpecialization CudaSpecialization(IGemmTile tile)
    {
        var threads = tile.GroupSide * tile.GroupSide;
        return new KernelSpecialization(threads, RegisterFile / (MaxRegisters * threads));
    }

    // The register cap is for ptxas; other accelerators reject a group size they cannot hold (the CPU's default shape).
    private static KernelSpecialization Specialization<TTile>(Accelerator accelerator)
        where TTile : struct, IGemmTile
        => accelerator.AcceleratorType == AcceleratorType.Cuda ? CudaSpecialization(default(TTile)) : KernelSpecialization.Empty;

    // A closed blocked kernel loaded on a device, with its group shape.
    private sealed class Blocked<TA, TB>
        where TA : struct, IGemmOperand
        where TB : struct, IGemmOperand
    {
        private Blocked(Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, TA, TB, GemmShape, GemmLayout, int, int> launch, int side, int groupSide)
        {
            Launch = launch;
            Side = side;
            GroupSide = groupSide;
        }

        public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, TA, TB, GemmShape, GemmLayout, int, int> Launch { get; }

        public int Side { get; }

        public int GroupSide { get; }

        public static Blocked<TA, TB> Load<TTile>(Accelerator accelerator, Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, TA, TB, GemmShape, GemmLayout, int, int> kernel)
            where TTile : struct, IGemmTile
        {
            return new(accelerator.LoadStreamKernel(kernel, Specialization<TTile>(accelerator)), Side<TTile>(), default(TTile).GroupSide);
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
