using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Cct.Gpu.Gemm;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// <see cref="Attention"/>'s core fused in the FlashAttention-2 manner: output = dropout(softmax(q·kᵀ / sqrt(hs)))·v
/// with no (B, H, T, T) matrix kept between the passes. Each group of <see cref="Threads"/> threads takes one (image,
/// head, tile of <see cref="TileRows"/> queries), walks the keys a tile at a time with an online softmax (running max and
/// sum, the output rescaled as the max grows), and saves each query row's log-sum-exp of the scaled scores. Backward
/// recomputes P = exp(score − log-sum-exp) from it once, with nothing atomic and every sum in a fixed order (the same
/// bytes on every run): the row dots D = doutput·output, then one group per key tile for dk and dv, which also writes
/// scale · dS to a (B, H, T, T) scratch that every block shares, then dq = that · k on the batched GEMM tiles. So it
/// runs five products, where a query-major kernel for dq, which recomputed the scores and dP, made it seven. Dropout draws the other paths' masks from the same counter
/// hash at the same (B, H, T, T) index, kept elements scaled by 1 / (1 − p), and the softmax sum is of the undropped
/// probabilities, as in PyTorch.
/// <para>
/// Four threads share a row of a tile: thread (r, part) takes the scores of keys part, part + 4, … of its row and output
/// columns part·hs/4 … (part + 1)·hs/4 − 1, held as <see cref="Float4"/> registers, so hs must be a multiple of 16 up
/// to <see cref="MaxHeadSize"/> (<see cref="Supports"/>): cct-2/3x2, cct-4/3x2 and cct-7/3x1 have 64. Tiles of 32 pad
/// T = 196 to 224 and T = 49 to 64, but rows and columns past T are skipped (<see cref="Dots"/>): 2 % and 17.5 % of the
/// score work idle, where whole tiles left 23 % and 41 %. Models on the GPU kernels train with it
/// (<see cref="Attention.Fuses"/>) for its memory: a cct-7/3x1 at batch 128 keeps 2,637 MiB of device buffers instead
/// of 3,160 (each block's probabilities, 75 MiB, become a log-sum-exp of 0.4). Its speed against the batched
/// path has not been timed on a GPU yet (Cct.Bench kernels times both, the cases "flash attention" and "attention",
/// and <c>Cct.Bench train --attention unfused</c> a whole step without it); on PoCL it is slower, so the OpenCL-CPU profile does not use it.
/// </para>
/// </summary>
internal sealed class FlashAttention
{
    /// <summary>Queries per group, and keys per step of its walk.</summary>
    public const int TileRows = 32;

    /// <summary>The largest head size the register layout holds: four <see cref="Float4"/> a thread.</summary>
    public const int MaxHeadSize = 64;

    /// <summary>Threads per group: four per query row.</summary>
    public const int Threads = 4 * TileRows;

    /// <summary>Every launch has <see cref="Threads"/> threads a group, so ptxas may budget registers for that size.</summary>
    internal static KernelSpecialization Specialization { get; } = new(Threads, null);

    // Shared rows: 16-byte aligned for Float4 reads, and rows 4 apart land on different banks (68·4 mod 32 = 16), so
    // the 8 rows one warp reads at a time are 8 broadcasts without conflicts.
    private const int RowStride = MaxHeadSize + 4;
    private const int TileFloats = TileRows * RowStride;
    private const int ScoreStride = TileRows + 1;

    private readonly ComputeDevice device;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape, float, GemmDropout> forward;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape> rowDots;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape, float, GemmDropout> keyValueBackward;

    // The forward and the key-major backward on tensor cores, for a CUDA device in a tensor-core precision (null
    // elsewhere): chosen once, with the device.
    private readonly TensorCoreFlashAttention? tensorCores;

    private FlashAttention(ComputeDevice device)
    {
        this.device = device;
        var a = device.Accelerator;
        forward = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape, float, GemmDropout>(ForwardKernel, Specialization);
        rowDots = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape>(RowDotsKernel, Specialization);
        keyValueBackward = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape, float, GemmDropout>(KeyValueBackwardKernel, Specialization);
        tensorCores = device.Profile.Class == DeviceClass.CudaGpu && device.Profile.Precision != GemmPrecision.Fp32 ? TensorCoreFlashAttention.For(device) : null;
    }

    public static FlashAttention For(ComputeDevice device) => device.Kernels(static d => new FlashAttention(d));

    /// <summary>Whether the fused kernels take this shape: a head size that is a multiple of 16, at most <see cref="MaxHeadSize"/>.</summary>
    public static bool Supports(AttentionShape shape) => shape.Heads > 0 && shape.Channels % shape.Heads == 0 && shape.HeadSize % 16 == 0 && shape.HeadSize <= MaxHeadSize;

    /// <summary>
    /// output (B, T, C) = dropout(softmax(q·kᵀ / sqrt(hs)))·v with heads concatenated, from qkv (B, T, 3C) laid out
    /// [3][H][hs]; logSumExp (B, H, T) = the log of each query row's sum of exp(scaled score), saved for backward.
    /// </summary>
    public void Forward(ArrayView<float> output, ArrayView<float> logSumExp, ArrayView<float> qkv, AttentionShape shape, float dropoutProbability, RngKey key)
    {
        using var profile = device.Time("FlashAttention.Forward");
        Validate(shape, dropoutProbability);
        if (tensorCores is not null && TensorCoreFlashAttention.Fits(shape, output))
        {
            tensorCores.Forward(output, logSumExp, qkv, shape, ScoreScale(shape), dropoutProbability, key);
            return;
        }

        forward(Launch(shape), output, logSumExp, qkv, shape, ScoreScale(shape), new GemmDropout(dropoutProbability, key));
    }

    /// <summary>
    /// Floats of <see cref="Backward"/>'s scratch for <paramref name="shape"/>: the row dots (B, H, T) and the score
    /// gradients (B, H, T, T).
    /// </summary>
    public static long ScratchLength(AttentionShape shape) => (long)shape.Batch * shape.Heads * shape.Tokens * (shape.Tokens + 1);

    /// <summary>
    /// Accumulates dqkv (B, T, 3C) += the gradient of <see cref="Forward"/>'s output given doutput (B, T, C), from qkv
    /// (B, T, 3C), the forward's output (B, T, C) and logSumExp (B, H, T), with the forward's key. scratch (at least
    /// <see cref="ScratchLength"/> floats) is overwritten: the row dots doutput·output (B, H, T), then the gradient of
    /// the scaled scores (B, H, T, T), which dq's product reads.
    /// </summary>
    public void Backward(ArrayView<float> dqkv, ArrayView<float> scratch, ArrayView<float> doutput, ArrayView<float> qkv, ArrayView<float> output, ArrayView<float> logSumExp, AttentionShape shape, float dropoutProbability, RngKey key)
    {
        using var profile = device.Time("FlashAttention.Backward");
        Validate(shape, dropoutProbability);
        if (scratch.Length < ScratchLength(shape))
        {
            throw new ArgumentException($"fused attention backward needs {ScratchLength(shape)} floats of scratch for {shape.Batch}x{shape.Tokens}x{shape.Channels} in {shape.Heads} heads; {scratch.Length} were given", nameof(scratch));
        }

        var (c, t, hs) = (shape.Channels, shape.Tokens, shape.HeadSize);
        var rows = (long)shape.Batch * shape.Heads * t;
        var (dots, scoreGradients) = (scratch.SubView(0, rows), scratch.SubView(rows, rows * t));
        var scale = ScoreScale(shape);
        rowDots(Launch(shape), dots, doutput, output, shape);
        if (tensorCores is not null && TensorCoreFlashAttention.Fits(shape, dqkv))
        {
            tensorCores.Backward(dqkv, scoreGradients, doutput, qkv, logSumExp, dots, shape, scale, dropoutProbability, key);
            return;
        }

        keyValueBackward(Launch(shape), dqkv, scoreGradients, doutput, qkv, logSumExp, dots, shape, scale, new GemmDropout(dropoutProbability, key));

        // dq += (scale · dS) · k, per head: one product on the batched GEMM tiles, where recomputing the scores and dP
        // for it in a query-major kernel cost two products more (docs/gpu-kernels.md).
        MatMul.For(device).RunBatched(dqkv, scoreGradients, qkv.SubView(c), new GemmShape(t, hs, t, 0, 0, 1, 0), Attention.ProbabilitiesLayout(shape, ldb: 3 * c, bBatch: 3L * t * c, ldc: 3 * c, cBatch: 3L * t * c), default);
    }

    // Tiles of queries (or keys) along x, the B·H heads along y.
    private static KernelConfig Launch(AttentionShape s)
        => new(new Index2D((s.Tokens + TileRows - 1) / TileRows, s.Batch * s.Heads), new Index2D(Threads, 1));

    private static void Validate(AttentionShape shape, float dropoutProbability)
    {
        if (!(dropoutProbability is >= 0f and < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(dropoutProbability), dropoutProbability, "dropout probability must lie in [0, 1)");
        }

        if (!Supports(shape))
        {
            throw new ArgumentException($"fused attention needs a head size that is a multiple of 16 up to {MaxHeadSize}; {shape.Channels} channels in {shape.Heads} heads do not give one", nameof(shape));
        }
    }

    // As Attention's: rounded once on the host, like PyTorch's python-float scale.
    private static float ScoreScale(AttentionShape shape) => (float)(1.0 / Math.Sqrt(shape.HeadSize));

    // One group per (query tile, head): the online softmax over key tiles.
    private static void ForwardKernel(ArrayView<float> output, ArrayView<float> logSumExp, ArrayView<float> qkv, AttentionShape s, float scale, GemmDropout dropout)
    {
        var drop = dropout.Resolved(); // the key's step and hash prefix once, not per score (RngKey.StepCell)
        var q = SharedMemory.Allocate<float>(TileFloats);              // (TileRows, RowStride): the group's query rows
        var k = SharedMemory.Allocate<float>(TileFloats);              // (TileRows, RowStride): this step's keys
        var v = SharedMemory.Allocate<float>(TileFloats);              // (TileRows, RowStride): this step's values
        var dropped = SharedMemory.Allocate<float>(TileRows * ScoreStride); // (TileRows, ScoreStride): dropout(exp(score − max))
        var maxima = SharedMemory.Allocate<float>(Threads);            // each thread's max over its keys of the step
        var sums = SharedMemory.Allocate<float>(Threads);              // each thread's sum of exp over them
        var (t, hs, c) = (s.Tokens, s.HeadSize, s.Channels);
        var tile = FlashTile.Current(s);
        var (head, row0, thread, r, part) = (tile.Head, tile.FirstRow, tile.Thread, tile.Row, tile.Part);
        var (qkvRows, headColumn, outputRows) = (tile.QkvRows, tile.HeadColumn, tile.OutputRows);
        LoadRows(q, qkv, qkvRows + headColumn, 3 * c, row0, t, hs, thread);

        var columns = part * (hs / 4);
        var chunks = hs / 16;
        var o = default(HeadColumns);
        var max = float.NegativeInfinity;
        var sum = 0f;
        var i = row0 + r;
        var matrixRow = (((long)head * t) + i) * t;
        for (var key0 = 0; key0 < t; key0 += TileRows)
        {
            Group.Barrier(); // the last step's readers of k, v and dropped are done
            LoadRows(k, qkv, qkvRows + c + headColumn, 3 * c, key0, t, hs, thread);
            LoadRows(v, qkv, qkvRows + (2 * c) + headColumn, 3 * c, key0, t, hs, thread);
            Group.Barrier();

            var keys = XMath.Min(TileRows, t - key0);
            var scores = Dots(q, r, i < t, k, part, keys, hs);
            scores.Scale(scale);
            scores.MaskPast(t - key0 - part);
            maxima[thread] = scores.Max();
            Group.Barrier();
            var stepMax = XMath.Max(XMath.Max(maxima[4 * r], maxima[(4 * r) + 1]), XMath.Max(maxima[(4 * r) + 2], maxima[(4 * r) + 3]));
            var newMax = XMath.Max(max, stepMax); // finite: key0 itself is a key
            var rescale = XMath.Exp(max - newMax);
            max = newMax;
            scores.Exp(newMax);
            sums[thread] = scores.Sum();
            scores.StoreDropped(dropped, (r * ScoreStride) + part, matrixRow + key0 + part, 4, drop);
            Group.Barrier();
            sum = (rescale * sum) + ((sums[4 * r] + sums[(4 * r) + 1]) + (sums[(4 * r) + 2] + sums[(4 * r) + 3]));

            o.Scale(rescale);
            // Views at the row's probabilities and the thread's value columns, so a pass adds only j's offsets.
            var probabilities = dropped.SubView(r * ScoreStride);
            var values = v.Cast<Float4>().SubView(columns / 4);
            var weighted = i < t ? keys : 0; // a row past the matrix is never stored
            for (var j = 0; j < weighted; j++)
            {
                o.MultiplyAdd(probabilities[j], values, j * (RowStride / 4), chunks);
            }
        }

        if (i < t)
        {
            o.Store(output, outputRows + ((long)i * c) + headColumn + columns, 1f / sum, chunks, accumulate: false);
            if (part == 0)
            {
                logSumExp[((long)head * t) + i] = max + XMath.Log(sum);
            }
        }
    }

    // One group per (query tile, head): D = doutput·output for its rows, each thread summing a quarter of the row's
    // columns and the four quarters added in a fixed order.
    private static void RowDotsKernel(ArrayView<float> rowDots, ArrayView<float> doutput, ArrayView<float> output, AttentionShape s)
    {
        var partials = SharedMemory.Allocate<float>(Threads);
        var (t, hs, c) = (s.Tokens, s.HeadSize, s.Channels);
        var tile = FlashTile.Current(s);
        var (head, row0, thread, r, part) = (tile.Head, tile.FirstRow, tile.Thread, tile.Row, tile.Part);
        var i = row0 + r;
        var dot = 0f;
        if (i < t)
        {
            var at = tile.OutputRows + ((long)i * c) + tile.HeadColumn + (part * (hs / 4));
            for (var d = 0; d < hs / 4; d++)
            {
                dot += doutput[at + d] * output[at + d];
            }
        }

        partials[thread] = dot;
        Group.Barrier();
        if (part == 0 && i < t)
        {
            rowDots[((long)head * t) + i] = (partials[4 * r] + partials[(4 * r) + 1]) + (partials[(4 * r) + 2] + partials[(4 * r) + 3]);
        }
    }

    // One group per (key tile, head): over query tiles, dv_j = Σ_i dropout(P)_ij doutput_i and dk_j = scale · Σ_i dS_ij q_i,
    // and each step's scale · dS written to scoreGradients (B, H, T, T) for dq's product.
    private static void KeyValueBackwardKernel(ArrayView<float> dqkv, ArrayView<float> scoreGradients, ArrayView<float> doutput, ArrayView<float> qkv, ArrayView<float> logSumExp, ArrayView<float> rowDots, AttentionShape s, float scale, GemmDropout dropout)
    {
        var drop = dropout.Resolved(); // the key's step and hash prefix once, not per score (RngKey.StepCell)
        var k = SharedMemory.Allocate<float>(TileFloats);  // (TileRows, RowStride): the group's keys
        var v = SharedMemory.Allocate<float>(TileFloats);  // (TileRows, RowStride): their values
        var q = SharedMemory.Allocate<float>(TileFloats);  // (TileRows, RowStride): this step's queries
        var dy = SharedMemory.Allocate<float>(TileFloats); // (TileRows, RowStride): their doutput rows
        var dropped = SharedMemory.Allocate<float>(TileRows * ScoreStride);  // (keys, queries): dropout(P)ᵀ of the step
        var dscores = SharedMemory.Allocate<float>(TileRows * ScoreStride);  // (keys, queries): dSᵀ of the step
        var rowStatistics = SharedMemory.Allocate<float>(2 * TileRows);      // the step's log-sum-exps, then its row dots
        var (t, hs, c) = (s.Tokens, s.HeadSize, s.Channels);
        var tile = FlashTile.Current(s);
        var (head, key0, thread, r, part) = (tile.Head, tile.FirstRow, tile.Thread, tile.Row, tile.Part); // key row r, queries part, part + 4, …
        var (qkvRows, headColumn, outputRows) = (tile.QkvRows, tile.HeadColumn, tile.OutputRows);
        LoadRows(k, qkv, qkvRows + c + headColumn, 3 * c, key0, t, hs, thread);
        LoadRows(v, qkv, qkvRows + (2 * c) + headColumn, 3 * c, key0, t, hs, thread);

        var j = key0 + r;
        var columns = part * (hs / 4);
        var chunks = hs / 16;
        var lane = thread % TileRows; // the key whose column of dS this thread stores
        var storedKey = key0 + lane;
        var storesKey = storedKey < t;
        var dk = default(HeadColumns);
        var dv = default(HeadColumns);
        for (var query0 = 0; query0 < t; query0 += TileRows)
        {
            Group.Barrier();
            LoadRows(q, qkv, qkvRows + headColumn, 3 * c, query0, t, hs, thread);
            LoadRows(dy, doutput, outputRows + headColumn, c, query0, t, hs, thread);
            if (thread < TileRows)
            {
                var row = query0 + thread;
                rowStatistics[thread] = row < t ? logSumExp[((long)head * t) + row] : 0f;
                rowStatistics[TileRows + thread] = row < t ? rowDots[((long)head * t) + row] : 0f;
            }

            Group.Barrier();
            var rows = XMath.Min(TileRows, t - query0);
            var scores = Dots(k, r, j < t, q, part, rows, hs);
            var dprobabilities = Dots(v, r, j < t, dy, part, rows, hs);
            scores.Scale(scale);
            scores.MaskPast(j < t ? t - query0 - part : 0);
            scores.ExpPerColumn(rowStatistics, part);
            // element (query, key) of the (B, H, T, T) matrix: the mask the forward drew
            var index = ((((long)head * t) + query0 + part) * t) + j;
            scores.StoreDropped(dropped, (r * ScoreStride) + part, index, 4L * t, drop);
            scores.StoreScoreGradients(dscores, (r * ScoreStride) + part, dprobabilities, rowStatistics, TileRows + part, 4, index, 4L * t, drop);
            Group.Barrier();

            // The tile (queries, keys) of scale · dS, a warp a query row at a time: 128-byte runs of the matrix row, and
            // the shared reads 33 floats apart fall on 32 banks. Each thread keeps one key column for the whole kernel:
            // with a flat loop over the tile's elements this kernel spilled 28 bytes once its reads took constant
            // offsets (ptxas holds it at 168 registers); this form and Dots' hoisted count fit it with none.
            if (storesKey)
            {
                var scoreRows = scoreGradients.SubView((((long)head * t) + query0) * t);
                for (var query = thread / TileRows; query < rows; query += Threads / TileRows)
                {
                    scoreRows[(query * t) + storedKey] = scale * dscores[(lane * ScoreStride) + query];
                }
            }

            // Views at the key's row of the two tiles and the thread's columns, so a pass adds only e's offsets.
            var (droppedRow, dscoresRow) = (dropped.SubView(r * ScoreStride), dscores.SubView(r * ScoreStride));
            var queries = q.Cast<Float4>().SubView(columns / 4);
            var gradients = dy.Cast<Float4>().SubView(columns / 4);
            var weighted = j < t ? rows : 0; // a key past the matrix is never stored
            for (var e = 0; e < weighted; e++)
            {
                var at = e * (RowStride / 4);
                dv.MultiplyAdd(droppedRow[e], gradients, at, chunks);
                dk.MultiplyAdd(dscoresRow[e], queries, at, chunks);
            }
        }

        if (j < t)
        {
            var at = qkvRows + ((long)j * 3 * c) + headColumn + columns;
            dk.Store(dqkv, at + c, scale, chunks, accumulate: true);
            dv.Store(dqkv, at + (2 * c), 1f, chunks, accumulate: true);
        }
    }

    // rows row0 … row0 + TileRows − 1 of a (T, ·) head slice starting at source[start] with rows rowLength apart, into
    // tile (TileRows, RowStride); rows past T read as zeros. The group's threads stride over the elements, so each
    // warp reads runs of the row.
    private static void LoadRows(ArrayView<float> tile, ArrayView<float> source, long start, int rowLength, int row0, int tokens, int hs, int thread)
    {
        for (var e = thread; e < TileRows * hs; e += Threads)
        {
            var (row, d) = (e / hs, e % hs);
            var at = row0 + row;
            tile[(row * RowStride) + d] = at < tokens ? source[start + ((long)at * rowLength) + d] : 0f;
        }
    }

    // Row r of a against rows part, part + 4, …, part + 28 of b, each over hs: eight dot products in registers, of which
    // only those of b's first bRows rows are computed, and none when row r of a is past the matrix (aValid false): the
    // others stay 0 and are masked. So the padding of T to whole tiles costs little: at T = 49 (two tiles of 32 each
    // way) a group's warps compute 56 row slots by 52 column slots of score dot products for 49 × 49 (17.5 % idle, where
    // whole tiles left 41 %), at T = 196 200 by 196 (2 %, where whole tiles left 23 %).
    private static TileScores Dots(ArrayView<float> a, int r, bool aValid, ArrayView<float> b, int part, int bRows, int hs)
    {
        var scores = default(TileScores);
        var count = (bRows - part + 3) / 4;
        if (!aValid || count <= 0)
        {
            return scores;
        }

        var (a4, b4) = (a.Cast<Float4>(), b.Cast<Float4>());
        var rowA = r * RowStride / 4;
        var rowB = part * RowStride / 4;
        for (var d = 0; d < hs / 4; d++)
        {
            scores.Add(a4[rowA + d], b4, rowB + d, count);
        }

        return scores;
    }
}
