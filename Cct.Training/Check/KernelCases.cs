using Cct.Gpu.Analysis;
using Cct.Gpu.Data;
using Cct.Gpu.Gemm;
using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Gpu.Optimizer;
using Cct.Gpu.Reductions;
using Cct.Gpu.Runtime;
using ILGPU;

namespace Cct.Training.Check;

/// <summary>
/// Every kernel of Cct.Gpu/Layers and Cct.Gpu/Data, forward and backward, at a small CCT's shapes
/// (batch 4, 49 tokens, dim 32, cct-tiny's tokenizer) and at odd sizes that exercise bounds and
/// tile edges (13, 17, 33, ...). Gradient buffers start random, not zero, because every backward
/// accumulates (+=). Element counts stay ~10^4 so the CPU simulator runs all of it in seconds.
/// </summary>
internal static class KernelCases
{
    private static readonly RngKey Key = new(Seed: 7, Stream: 11, Step: 3);

    /// <summary>
    /// All cases. <paramref name="targetTiled"/> only names the matmul rows: the target runs the blocked GPU kernel when it
    /// prefers it, the CPU reference the simple one. <paramref name="precision"/> is the target's: its Linear rows run on
    /// the tensor cores in a tensor-core precision (where their shapes allow, TensorCoreGemm.Fits), and are named and
    /// bounded for it.
    /// </summary>
    public static IReadOnlyList<KernelCase> All(bool targetTiled, GemmPrecision precision = GemmPrecision.Fp32)
    {
        var matmul = targetTiled ? "matmul tiled vs simple" : "matmul simple";
        return
        [
            MatMulCase($"{matmul} 196x96x32 nn", new GemmShape(196, 96, 32, 0, 0, 0, 0)),
            MatMulCase($"{matmul} 196x96x32 nt+bias", new GemmShape(196, 96, 32, 0, 1, 0, 1)),
            MatMulCase($"{matmul} 32x96x196 tn+acc", new GemmShape(32, 96, 196, 1, 0, 1, 0)),
            MatMulCase($"{matmul} 13x33x17 nn+acc+bias", new GemmShape(13, 33, 17, 0, 0, 1, 1)),
            MatMulCase($"{matmul} 37x5x19 tt", new GemmShape(37, 5, 19, 1, 1, 0, 0)),

            // A weight gradient's shape: long K, few outputs, so a GPU splits K (MatMul.SplitsFor).
            MatMulCase($"{matmul} 96x32x3136 tn+acc", new GemmShape(96, 32, 3136, 1, 0, 1, 0)),
            RegisterTileCase(new GemmShape(196, 96, 32, 0, 1, 1, 1)),
            RegisterTileCase(new GemmShape(37, 5, 19, 1, 0, 0, 0)),
            LinearCase(rows: 196, inFeatures: 32, outFeatures: 96, hasBias: true, precision),
            LinearCase(rows: 13, inFeatures: 17, outFeatures: 33, hasBias: false, precision),

            // Tensor-core edges: 200 rows are a tile and 72, 36 is no whole K step, 132 a tile and 4 columns; the
            // 3,136 rows of the second split dweight's K twelve ways on a GPU of 132 SMs (TensorCoreGemm.SplitK).
            LinearCase(rows: 200, inFeatures: 36, outFeatures: 132, hasBias: true, precision),
            LinearCase(rows: 3136, inFeatures: 32, outFeatures: 96, hasBias: false, precision),
            Conv2dCase(new Conv2dShape(4, 1, 28, 28, 16, 3, 1, 1)),
            Conv2dCase(new Conv2dShape(4, 16, 14, 14, 32, 3, 1, 1)),
            Conv2dCase(new Conv2dShape(2, 64, 14, 14, 128, 3, 1, 1)), // cct-2/3x2's second convolution: K in tap-major order on GPUs, its input gradient on the small tile
            Conv2dCase(new Conv2dShape(2, 128, 14, 14, 16, 3, 1, 1)), // the tap-major input gradient on the large tile
            Conv2dCase(new Conv2dShape(3, 5, 13, 11, 7, 3, 2, 1)),
            UnfoldedConvolutionCase(new Conv2dShape(4, 8, 14, 14, 24, 3, 1, 1)),
            UnfoldedConvolutionCase(new Conv2dShape(3, 5, 13, 11, 7, 3, 2, 1)),
            UnfoldedConvolutionCase(new Conv2dShape(2, 3, 9, 9, 70, 3, 1, 1)), // 9 rows of tiles: the weight gradient unchunked on 2 cores
            MaxPoolCase(new Pool2dShape(4, 16, 28, 28, 3, 2, 1)),
            MaxPoolCase(new Pool2dShape(3, 5, 13, 11, 2, 2, 0)),
            BatchNormCase(new BatchNormShape(4, 16, 28 * 28)),
            BatchNormCase(new BatchNormShape(3, 5, 13 * 11)),
            ReluCase(4 * 49 * 64),
            ReluCase(1001),
            GeluCase(4 * 49 * 64),
            GeluCase(1001),
            ResidualCase(4 * 49 * 32),
            ResidualCase(1001),
            DropoutCase(4 * 49 * 64, 0.1f),
            DropoutCase(1001, 0f),
            DropPathCase(batch: 4, perSample: 49 * 32, probability: 0.25f),
            DropPathCase(batch: 13, perSample: 17, probability: 0.5f),
            TokensCase(new TokensShape(4, 32, 49), positional: true),
            TokensCase(new TokensShape(3, 17, 13), positional: false),
            LayerNormCase(rows: 4 * 49, channels: 32),
            LayerNormCase(rows: 13, channels: 17),
            AttentionCase(new AttentionShape(4, 49, 32, 2), 0f),
            AttentionCase(new AttentionShape(4, 49, 32, 2), 0.1f),
            AttentionCase(new AttentionShape(3, 13, 15, 3), 0f),

            // Head sizes of 64 (cct-2/3x2's) and 33 (a partial second tile): an OpenCL CPU's head-major path.
            AttentionCase(new AttentionShape(2, 49, 128, 2), 0.1f, typeof(HeadMajorAttention)),
            AttentionCase(new AttentionShape(3, 13, 99, 3), 0f, typeof(HeadMajorAttention)),

            // The fused kernels against the reference's item path: head sizes 64 and 32, the last tile part-full.
            // In a tensor-core precision head size 64 runs on the tensor cores (TensorCoreFlashAttention: in bf16, or in
            // 3xTF32 for tf32x3 and tf32); 196 tokens are cct-7/3x1's.
            FlashAttentionCase(new AttentionShape(2, 49, 128, 2), 0.1f, precision),
            FlashAttentionCase(new AttentionShape(1, 70, 96, 3), 0f, precision),
            FlashAttentionCase(new AttentionShape(1, 196, 128, 2), 0.1f, precision),
            SeqPoolCase(batch: 4, tokens: 49, channels: 32),
            SeqPoolCase(batch: 3, tokens: 13, channels: 17),
            MeanPoolCase(batch: 4, tokens: 49, channels: 32),
            MeanPoolCase(batch: 3, tokens: 13, channels: 17),
            AttentionRolloutCase(new RolloutShape(4, 2, 49)),
            AttentionRolloutCase(new RolloutShape(3, 3, 13)),
            CrossEntropyCase(batch: 4, classes: 10, smoothing: 0.1f),
            CrossEntropyCase(batch: 13, classes: 10, smoothing: 0f),
            AdamWCase(1001),
            StoredAdamWCase(1001),
            PartialSumsCase(chunks: 7, columns: 300),
            TrainingStatisticsCase(batch: 13, classes: 10),
            BatchAssemblerCase(augment: true),
            BatchAssemblerCase(augment: false),
            ClearCase(length: 1001, offset: 0, count: 1001),
            ClearCase(length: 1001, offset: 333, count: 77),
            BatchAssemblerErasingCase(),
            WeightAverageCase(1001),
        ];
    }

    /// <summary>
    /// The registry cases Cct.Bench times, built by the same factories as <see cref="All"/>, each with the work one
    /// replay of its launches does (forward and backward). <paramref name="modelScale"/> gives CCT-7/3x1's shapes at
    /// batch 128 (196 tokens, dim 256, 4 heads, MLP 512, a 3x3 1→256 tokenizer conv, 3.7M parameters), each checked
    /// at batch 4 of the same shapes: the CPU reference of batch 128 takes minutes (over 5 on 2 cores for the first
    /// GEMM alone). Otherwise the check's own sizes, which the CPU simulator runs in seconds, timed as checked.
    /// On a device made in a tensor-core <paramref name="precision"/> the Linear rows run on the tensor cores
    /// (TensorCoreGemm) and are checked to that precision's bound, the matmul rows on MatMul's fp32 tiles whatever it is.
    /// </summary>
    public static IReadOnlyList<TimedKernelCase> Timed(bool modelScale, GemmPrecision precision = GemmPrecision.Fp32)
    {
        var (tokens, dim, heads, parameters) = modelScale ? (196, 256, 4, 3_700_000) : (49, 32, 2, 1001);
        var checkBatch = 4;
        var batch = modelScale ? 128 : checkBatch;
        return
        [
            Pair(b => Qkv(b, tokens, dim), b => 2.0 * b * tokens * 3 * dim * dim, _ => 0),

            // Forward, dinput and dweight are one GEMM each; the bias terms are noise. qkv's Linear (no bias) beside the
            // matmul row above, which stays on the fp32 tiles: on a tensor-core device the pair compares the two.
            Pair(b => LinearCase(b * tokens, dim, 2 * dim, hasBias: true, precision), b => 6.0 * b * tokens * dim * 2 * dim, _ => 0),
            Pair(b => LinearCase(b * tokens, dim, 3 * dim, hasBias: false, precision), b => 6.0 * b * tokens * dim * 3 * dim, _ => 0),
            Pair(b => Conv2dCase(Tokenizer(b)), b => 6.0 * b * Tokenizer(b).OutChannels * 28 * 28 * 9, _ => 0),

            // Two GEMMs forward (q·kᵀ, P·v) and four backward, each 2·B·H·T²·hs = 2·B·T²·C.
            Pair(b => AttentionCase(new AttentionShape(b, tokens, dim, heads), 0.1f), b => 12.0 * b * tokens * tokens * dim, _ => 0),

            // The fused attention, counted as the unfused one's six products so that the two rows' rates compare
            // directly (its backward recomputes the scores and dP, seven products in all).
            Pair(b => FlashAttentionCase(new AttentionShape(b, tokens, dim, heads), 0.1f, precision), b => 12.0 * b * tokens * tokens * dim, _ => 0),

            // x read and y written forward; dy, x read and dx read and written backward: 24 bytes an element.
            Pair(b => LayerNormCase(b * tokens, dim), _ => 0, b => 24.0 * b * tokens * dim),
            Pair(b => GeluCase(b * tokens * 2 * dim), _ => 0, b => 24.0 * b * tokens * 2 * dim),

            // Two steps, each reading parameters, both moments and the gradient and writing the first three.
            new(AdamWCase(parameters), AdamWCase(parameters), 0, 2 * 28.0 * parameters),
        ];

        TimedKernelCase Pair(Func<int, KernelCase> at, Func<int, double> flops, Func<int, double> bytes)
            => new(at(batch), at(checkBatch), flops(batch), bytes(batch));

        Conv2dShape Tokenizer(int b) => new(b, 1, 28, 28, modelScale ? dim : 16, 3, 1, 1);
    }

    // c (B·T, 3C) = x (B·T, C) · w (3C, C)ᵀ, the attention qkv projection's product.
    private static KernelCase Qkv(int batch, int tokens, int dim)
    {
        var shape = new GemmShape(batch * tokens, 3 * dim, dim, 0, 1, 0, 0);
        return MatMulCase($"matmul {shape.M}x{shape.N}x{shape.K} nt", shape);
    }

    /// <summary>Uniform in [−scale, scale), the same for a given seed on every machine (System.Random with a seed is stable).</summary>
    public static float[] Uniform(int seed, long count, float scale = 1f)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)(((random.NextDouble() * 2) - 1) * scale);
        }

        return values;
    }

    private static CheckOutput Out(string name, ArrayView<float> view, Tolerance tolerance) => new(name, DeviceScope.Read(view), tolerance);

    private static CheckOutput Out(string name, ArrayView<int> view) => new(name, DeviceScope.Read(view), Tolerance.Exact);

    private static KernelCase MatMulCase(string name, GemmShape g) => new(name, typeof(MatMul), s =>
    {
        var c = s.Upload(Uniform(1, (long)g.M * g.N));
        var a = s.Upload(Uniform(2, (long)g.M * g.K));
        var b = s.Upload(Uniform(3, (long)g.K * g.N));
        var bias = s.Upload(Uniform(4, g.N));
        s.Launch(() => MatMul.For(s.Device).Run(c, a, b, bias, g));
        return [Out("c", c, Tolerance.SumOver(g.K))];
    });

    // The OpenCL-CPU GEMM on every device (it is plain item code), so its compile is checked on the target too; MatMul's
    // rows check it against the simulator's item GEMM where it is the target's MatMul.
    private static KernelCase RegisterTileCase(GemmShape g) => new($"register-tile gemm {g.M}x{g.N}x{g.K} t{g.TransposeA}{g.TransposeB}", typeof(RegisterTileGemm), s =>
    {
        var c = s.Upload(Uniform(1, (long)g.M * g.N));
        var a = s.Upload(Uniform(2, (long)g.M * g.K));
        var b = s.Upload(Uniform(3, (long)g.K * g.N));
        var bias = s.Upload(Uniform(4, g.N));
        s.Launch(() => RegisterTileGemm.For(s.Device).Run(c, a, b, bias, g));
        return [Out("c", c, Tolerance.SumOver(g.K))];
    });

    private static KernelCase LinearCase(int rows, int inFeatures, int outFeatures, bool hasBias, GemmPrecision precision = GemmPrecision.Fp32)
        => new($"linear {rows}x{inFeatures}→{outFeatures}{(hasBias ? "+bias" : string.Empty)}{(precision == GemmPrecision.Fp32 ? string.Empty : $" {precision.ToString().ToLowerInvariant()}")}", typeof(Linear), s =>
        {
            var linear = Linear.For(s.Device);
            var input = s.Upload(Uniform(10, (long)rows * inFeatures));
            var weight = s.Upload(Uniform(11, (long)outFeatures * inFeatures, 0.3f));
            var bias = s.Upload(Uniform(12, outFeatures));
            var output = s.Zeros((long)rows * outFeatures);
            s.Launch(() => linear.Forward(output, input, new WeightAndBias(weight, bias), hasBias, rows, inFeatures, outFeatures));
            var doutput = s.Upload(Uniform(13, (long)rows * outFeatures));
            var dinput = s.Upload(Uniform(14, (long)rows * inFeatures));
            var dweight = s.Upload(Uniform(15, (long)outFeatures * inFeatures));
            var dbias = s.Upload(Uniform(16, outFeatures));
            s.Launch(() => linear.Backward(dinput, new WeightAndBiasGradients(dweight, dbias), doutput, input, weight, hasBias, rows, inFeatures, outFeatures));
            return [Out("output", output, Tolerance.Products(inFeatures, precision)), Out("dinput", dinput, Tolerance.Products(outFeatures, precision)), Out("dweight", dweight, Tolerance.Products(rows, precision)), Out("dbias", dbias, Tolerance.SumOver(rows))];
        });

    private static KernelCase Conv2dCase(Conv2dShape c)
        => new($"conv2d {c.Batch}x{c.InChannels}x{c.Height}x{c.Width}→{c.OutChannels} k{c.Kernel} s{c.Stride} p{c.Padding}", typeof(Conv2d), s =>
        {
            var conv = Conv2d.For(s.Device);
            var inputs = (long)c.Batch * c.InChannels * c.Height * c.Width;
            var outputs = (long)c.Batch * c.OutChannels * c.OutHeight * c.OutWidth;
            var weights = (long)c.OutChannels * c.InChannels * c.Kernel * c.Kernel;
            var input = s.Upload(Uniform(20, inputs));
            var weight = s.Upload(Uniform(21, weights, 0.3f));
            var output = s.Zeros(outputs);
            s.Launch(() => conv.Forward(output, input, weight, c));
            var doutput = s.Upload(Uniform(22, outputs));
            var dinput = s.Upload(Uniform(23, inputs));
            var dweight = s.Upload(Uniform(24, weights));
            s.Launch(() => conv.Backward(new Conv2dGradients(dinput, dweight), doutput, input, weight, c));

            // dweight sums over batch × output positions (3,136 terms for 4x28x28).
            var weightTerms = (long)c.Batch * c.OutHeight * c.OutWidth;
            var dweightTolerance = weightTerms <= 3136 ? Tolerance.LongReduction : Tolerance.SumOver(weightTerms);
            return [Out("output", output, Tolerance.Reduction), Out("dinput", dinput, Tolerance.Reduction), Out("dweight", dweight, dweightTolerance)];
        });

    // The OpenCL-CPU convolution (unfolded input, register-tiled products) on every device, as RegisterTileCase.
    private static KernelCase UnfoldedConvolutionCase(Conv2dShape c)
        => new($"unfolded conv2d {c.Batch}x{c.InChannels}x{c.Height}x{c.Width}→{c.OutChannels} k{c.Kernel} s{c.Stride} p{c.Padding}", typeof(UnfoldedConvolution), s =>
        {
            var conv = UnfoldedConvolution.For(s.Device);
            var inputs = (long)c.Batch * c.InChannels * c.Height * c.Width;
            var outputs = (long)c.Batch * c.OutChannels * c.OutHeight * c.OutWidth;
            var weights = (long)c.OutChannels * c.InChannels * c.Kernel * c.Kernel;
            var input = s.Upload(Uniform(25, inputs));
            var weight = s.Upload(Uniform(26, weights, 0.3f));
            var output = s.Zeros(outputs);
            s.Launch(() => conv.Forward(output, input, weight, c));
            var doutput = s.Upload(Uniform(27, outputs));
            var dinput = s.Upload(Uniform(28, inputs));
            var dweight = s.Upload(Uniform(29, weights));
            s.Launch(() => conv.Backward(new Conv2dGradients(dinput, dweight), doutput, input, weight, c, inputGradient: true));
            return [Out("output", output, Tolerance.Reduction), Out("dinput", dinput, Tolerance.Reduction), Out("dweight", dweight, Tolerance.LongReduction)];
        });

    private static KernelCase MaxPoolCase(Pool2dShape p)
        => new($"maxpool2d {p.Batch}x{p.Channels}x{p.Height}x{p.Width} k{p.Kernel} s{p.Stride} p{p.Padding}", typeof(MaxPool2d), s =>
        {
            var pool = MaxPool2d.For(s.Device);
            var inputs = (long)p.Batch * p.Channels * p.Height * p.Width;
            var outputs = (long)p.Batch * p.Channels * p.OutHeight * p.OutWidth;
            var input = s.Upload(Uniform(30, inputs));
            var output = s.Zeros(outputs);
            var argmax = s.IntZeros(outputs);
            s.Launch(() => pool.Forward(output, argmax, input, p));
            var doutput = s.Upload(Uniform(31, outputs));
            var dinput = s.Upload(Uniform(32, inputs));
            s.Launch(() => pool.Backward(dinput, doutput, argmax, p));
            return [Out("output", output, Tolerance.Elementwise), Out("argmax", argmax), Out("dinput", dinput, Tolerance.Elementwise)];
        });

    private static KernelCase BatchNormCase(BatchNormShape b)
        => new($"batchnorm2d {b.Batch}x{b.Channels}x{b.Spatial}", typeof(BatchNorm2d), s =>
        {
            var norm = BatchNorm2d.For(s.Device);
            var count = (long)b.Batch * b.Channels * b.Spatial;
            var input = s.Upload(Array.ConvertAll(Uniform(40, count), v => (2 * v) + 0.5f));
            var weight = s.Upload(Uniform(41, b.Channels));
            var bias = s.Upload(Uniform(42, b.Channels));
            var runningMean = s.Upload(Uniform(43, b.Channels));
            var runningVar = s.Upload(Array.ConvertAll(Uniform(44, b.Channels), v => 1.5f + v));
            var output = s.Zeros(count);
            var mean = s.Zeros(b.Channels);
            var rstd = s.Zeros(b.Channels);
            s.Launch(() => norm.ForwardTraining(output, new NormStatistics(mean, rstd), runningMean, runningVar, input, new WeightAndBias(weight, bias), b));
            var evalOutput = s.Zeros(count);
            s.Launch(() => norm.ForwardEval(evalOutput, input, new WeightAndBias(weight, bias), runningMean, runningVar, b));
            var doutput = s.Upload(Uniform(45, count));
            var dinput = s.Upload(Uniform(46, count));
            var dweight = s.Upload(Uniform(47, b.Channels));
            var dbias = s.Upload(Uniform(48, b.Channels));
            s.Launch(() => norm.Backward(dinput, new WeightAndBiasGradients(dweight, dbias), doutput, input, new NormStatistics(mean, rstd), weight, b));

            // Every output hangs on per-channel sums over B·H·W values.
            var t = Tolerance.LongReduction;
            return
            [
                Out("train output", output, t), Out("mean", mean, t), Out("rstd", rstd, t), Out("running mean", runningMean, t), Out("running var", runningVar, t),
                Out("eval output", evalOutput, t), Out("dinput", dinput, t), Out("dweight", dweight, t), Out("dbias", dbias, t),
            ];
        });

    private static KernelCase ReluCase(int count) => new($"relu {count}", typeof(Relu), s =>
    {
        var relu = Relu.For(s.Device);
        var input = Uniform(50, count);
        input[0] = 0f; // zero passes no gradient, as in PyTorch
        var x = s.Upload(input);
        var output = s.Zeros(count);
        s.Launch(() => relu.Forward(output, x, count));
        var dinput = s.Upload(Uniform(51, count));
        var doutput = s.Upload(Uniform(52, count));
        s.Launch(() => relu.Backward(dinput, doutput, x, count));
        return [Out("output", output, Tolerance.Elementwise), Out("dinput", dinput, Tolerance.Elementwise)];
    });

    private static KernelCase GeluCase(int count) => new($"gelu {count}", typeof(Gelu), s =>
    {
        var gelu = Gelu.For(s.Device);
        var x = s.Upload(Uniform(55, count, 6f)); // ±6 reaches both tails of the erfc fit
        var output = s.Zeros(count);
        s.Launch(() => gelu.Forward(output, x, count));
        var dinput = s.Upload(Uniform(56, count));
        var doutput = s.Upload(Uniform(57, count));
        s.Launch(() => gelu.Backward(dinput, doutput, x, count));
        return [Out("output", output, Tolerance.Elementwise), Out("dinput", dinput, Tolerance.Elementwise)];
    });

    // The chunk sums behind the GPU's parameter gradients; the layer cases above exercise them through their
    // backward passes on a GPU (PartialSums.ChunksFor gives the CPU one chunk).
    private static KernelCase PartialSumsCase(int chunks, int columns) => new($"partialsums {chunks}x{columns}", typeof(PartialSums), s =>
    {
        var target = s.Upload(Uniform(65, columns));
        var partials = s.Upload(Uniform(66, (long)chunks * columns));
        s.Launch(() => PartialSums.For(s.Device).AddInto(target, partials, chunks, columns));
        return [Out("target", target, Tolerance.Reduction)];
    });

    private static KernelCase ResidualCase(int count) => new($"residual {count}", typeof(Residual), s =>
    {
        var residual = Residual.For(s.Device);
        var output = s.Zeros(count);
        var input1 = s.Upload(Uniform(60, count));
        var input2 = s.Upload(Uniform(61, count));
        s.Launch(() => residual.Forward(output, input1, input2, count));
        var dinput1 = s.Upload(Uniform(62, count));
        var dinput2 = s.Upload(Uniform(63, count));
        var doutput = s.Upload(Uniform(64, count));
        s.Launch(() => residual.Backward(dinput1, dinput2, doutput, count));
        return [Out("output", output, Tolerance.Elementwise), Out("dinput1", dinput1, Tolerance.Elementwise), Out("dinput2", dinput2, Tolerance.Elementwise)];
    });

    private static KernelCase DropoutCase(int count, float p) => new($"dropout {count} p={p}", typeof(Dropout), s =>
    {
        var dropout = Dropout.For(s.Device);
        var output = s.Zeros(count);
        var input = s.Upload(Uniform(70, count));
        s.Launch(() => dropout.Forward(output, input, count, p, Key));
        var dinput = s.Upload(Uniform(71, count));
        var doutput = s.Upload(Uniform(72, count));
        s.Launch(() => dropout.Backward(dinput, doutput, count, p, Key));
        return [Out("output", output, Tolerance.Elementwise), Out("dinput", dinput, Tolerance.Elementwise)];
    });

    private static KernelCase DropPathCase(int batch, int perSample, float probability)
        => new($"droppath {batch}x{perSample} p={probability}", typeof(DropPath), s =>
        {
            var dropPath = DropPath.For(s.Device);
            var count = (long)batch * perSample;
            var output = s.Zeros(count);
            var input = s.Upload(Uniform(75, count));
            s.Launch(() => dropPath.Forward(output, input, batch, perSample, probability, Key));
            var dinput = s.Upload(Uniform(76, count));
            var doutput = s.Upload(Uniform(77, count));
            s.Launch(() => dropPath.Backward(dinput, doutput, batch, perSample, probability, Key));
            return [Out("output", output, Tolerance.Elementwise), Out("dinput", dinput, Tolerance.Elementwise)];
        });

    private static KernelCase TokensCase(TokensShape t, bool positional)
        => new($"tokens {t.Batch}x{t.Channels}x{t.Tokens}{(positional ? "+pos" : string.Empty)}", typeof(Tokens), s =>
        {
            var tokens = Tokens.For(s.Device);
            var input = s.Upload(Uniform(80, t.Elements));
            var embedding = s.Upload(Uniform(81, (long)t.Tokens * t.Channels));
            var output = s.Zeros(t.Elements);
            s.Launch(() => tokens.Forward(output, input, embedding, positional, t));
            var dinput = s.Upload(Uniform(82, t.Elements));
            var dembedding = s.Upload(Uniform(83, (long)t.Tokens * t.Channels));
            var doutput = s.Upload(Uniform(84, t.Elements));
            s.Launch(() => tokens.Backward(dinput, dembedding, doutput, positional, t));
            return [Out("output", output, Tolerance.Elementwise), Out("dinput", dinput, Tolerance.Elementwise), Out("dpositional", dembedding, Tolerance.Reduction)];
        });

    private static KernelCase LayerNormCase(int rows, int channels) => new($"layernorm {rows}x{channels}", typeof(LayerNorm), s =>
    {
        var norm = LayerNorm.For(s.Device);
        var count = (long)rows * channels;
        var input = s.Upload(Array.ConvertAll(Uniform(90, count), v => (3 * v) + 1f));
        var weight = s.Upload(Uniform(91, channels));
        var bias = s.Upload(Uniform(92, channels));
        var output = s.Zeros(count);
        var mean = s.Zeros(rows);
        var rstd = s.Zeros(rows);
        s.Launch(() => norm.Forward(output, new NormStatistics(mean, rstd), input, new WeightAndBias(weight, bias), rows, channels));
        var dinput = s.Upload(Uniform(93, count));
        var dweight = s.Upload(Uniform(94, channels));
        var dbias = s.Upload(Uniform(95, channels));
        var doutput = s.Upload(Uniform(96, count));
        s.Launch(() => norm.Backward(dinput, new WeightAndBiasGradients(dweight, dbias), doutput, input, new NormStatistics(mean, rstd), weight, rows, channels));
        var t = Tolerance.Reduction;
        return [Out("output", output, t), Out("mean", mean, t), Out("rstd", rstd, t), Out("dinput", dinput, t), Out("dweight", dweight, Tolerance.SumOver(rows)), Out("dbias", dbias, Tolerance.SumOver(rows))];
    });

    // layer: the class whose kernels the case reaches (head sizes of 32 or more reach HeadMajorAttention on an OpenCL CPU).
    private static KernelCase AttentionCase(AttentionShape a, float p, Type? layer = null)
        => new($"attention {a.Batch}x{a.Tokens}x{a.Channels} h{a.Heads} p={p}", layer ?? typeof(Attention), s =>
        {
            var attention = Attention.For(s.Device);
            var qkvCount = (long)a.Batch * a.Tokens * 3 * a.Channels;
            var outputs = (long)a.Batch * a.Tokens * a.Channels;
            var matrices = (long)a.Batch * a.Heads * a.Tokens * a.Tokens;
            var qkv = s.Upload(Uniform(100, qkvCount, 2f)); // scores of a few units, so the softmax is not flat
            var output = s.Zeros(outputs);
            var probabilities = s.Zeros(matrices);
            s.Launch(() => attention.Forward(output, new AttentionTensors(qkv, probabilities), a, p, Key));
            var dqkv = s.Upload(Uniform(101, qkvCount));
            var scratch = s.Zeros(matrices);
            var doutput = s.Upload(Uniform(102, outputs));
            s.Launch(() => attention.Backward(new AttentionTensorGradients(dqkv, scratch), doutput, new AttentionTensors(qkv, probabilities), a, p, Key));
            var t = Tolerance.Reduction;
            return [Out("output", output, t), Out("probabilities", probabilities, t), Out("dqkv", dqkv, t)];
        });

    // output and dqkv of FlashAttention on a device whose groups hold its threads (a GPU, an OpenCL CPU), else of
    // Attention's own path: so the CPU reference checks the fused kernels against the item kernels.
    // In a tensor-core precision a head size of 64 runs on the tensor cores (TensorCoreFlashAttention.Fits), named so:
    // bf16's rows within Tolerance.Bf16Attention; 3xTF32's (tf32x3 and tf32) within the fp32 rows' Reduction, since it
    // is as exact (tools/flash-attention-emulate.py: 1e-7 to 1e-6 against float64, forward and backward).
    private static KernelCase FlashAttentionCase(AttentionShape a, float p, GemmPrecision precision = GemmPrecision.Fp32)
        => new($"flash attention {a.Batch}x{a.Tokens}x{a.Channels} h{a.Heads} p={p}{TensorCoreAttentionSuffix(a, precision)}", typeof(FlashAttention), s =>
        {
            var qkvCount = (long)a.Batch * a.Tokens * 3 * a.Channels;
            var outputs = (long)a.Batch * a.Tokens * a.Channels;
            var rows = (long)a.Batch * a.Heads * a.Tokens;
            var qkv = s.Upload(Uniform(100, qkvCount, 2f));
            var output = s.Zeros(outputs);
            var dqkv = s.Upload(Uniform(101, qkvCount));
            var doutput = s.Upload(Uniform(102, outputs));
            if (s.Device.Accelerator.MaxNumThreadsPerGroup >= FlashAttention.Threads)
            {
                var flash = FlashAttention.For(s.Device);
                var logSumExp = s.Zeros(rows);
                var scratch = s.Zeros(FlashAttention.ScratchLength(a));
                s.Launch(() => flash.Forward(output, logSumExp, qkv, a, p, Key));
                s.Launch(() => flash.Backward(dqkv, scratch, doutput, qkv, output, logSumExp, a, p, Key));
            }
            else
            {
                var attention = Attention.For(s.Device);
                var matrices = rows * a.Tokens;
                var probabilities = s.Zeros(matrices);
                var scratch = s.Zeros(matrices);
                s.Launch(() => attention.Forward(output, new AttentionTensors(qkv, probabilities), a, p, Key));
                s.Launch(() => attention.Backward(new AttentionTensorGradients(dqkv, scratch), doutput, new AttentionTensors(qkv, probabilities), a, p, Key));
            }

            var t = TensorCoreAttentionSuffix(a, precision) == " bf16" ? Tolerance.Bf16Attention : Tolerance.Reduction;
            return [Out("output", output, t), Out("dqkv", dqkv, t)];
        });

    private static string TensorCoreAttentionSuffix(AttentionShape a, GemmPrecision precision)
        => a.HeadSize != TensorCoreFlashAttention.HeadSize ? string.Empty : precision switch
        {
            GemmPrecision.Bf16 => " bf16",
            GemmPrecision.Tf32x3 or GemmPrecision.Tf32 => " 3xtf32",
            _ => string.Empty,
        };

    private static KernelCase SeqPoolCase(int batch, int tokens, int channels) => new($"seqpool {batch}x{tokens}x{channels}", typeof(SeqPool), s =>
    {
        var pool = SeqPool.For(s.Device);
        var count = (long)batch * tokens * channels;
        var input = s.Upload(Uniform(110, count));
        var poolWeight = s.Upload(Uniform(111, channels));
        var poolBias = s.Upload(Uniform(112, 1));
        var output = s.Zeros((long)batch * channels);
        var weights = s.Zeros((long)batch * tokens);
        s.Launch(() => pool.Forward(output, weights, input, new WeightAndBias(poolWeight, poolBias), batch, tokens, channels));
        var dinput = s.Upload(Uniform(113, count));
        var dpoolWeight = s.Upload(Uniform(114, channels));
        var dpoolBias = s.Upload(Uniform(115, 1));
        var doutput = s.Upload(Uniform(116, (long)batch * channels));
        s.Launch(() => pool.Backward(dinput, new WeightAndBiasGradients(dpoolWeight, dpoolBias), doutput, input, weights, poolWeight, batch, tokens, channels));
        var t = Tolerance.Reduction;
        return [Out("output", output, t), Out("weights", weights, t), Out("dinput", dinput, t), Out("dweight", dpoolWeight, t), Out("dbias", dpoolBias, t)];
    });

    private static KernelCase MeanPoolCase(int batch, int tokens, int channels) => new($"meanpool {batch}x{tokens}x{channels}", typeof(MeanPool), s =>
    {
        var pool = MeanPool.For(s.Device);
        var count = (long)batch * tokens * channels;
        var output = s.Zeros((long)batch * channels);
        var input = s.Upload(Uniform(120, count));
        s.Launch(() => pool.Forward(output, input, batch, tokens, channels));
        var dinput = s.Upload(Uniform(121, count));
        var doutput = s.Upload(Uniform(122, (long)batch * channels));
        s.Launch(() => pool.Backward(dinput, doutput, batch, tokens, channels));
        return [Out("output", output, Tolerance.Reduction), Out("dinput", dinput, Tolerance.Elementwise)];
    });

    private static KernelCase AttentionRolloutCase(RolloutShape shape) => new($"attentionrollout {shape.Batch}x{shape.Heads}x{shape.Tokens}", typeof(AttentionRollout), s =>
    {
        var output = s.Zeros((long)shape.Batch * shape.Tokens);
        var input = s.Upload(Uniform(125, (long)shape.Batch * shape.Tokens));
        var probabilities = s.Upload(Uniform(126, (long)shape.Batch * shape.Heads * shape.Tokens * shape.Tokens));
        s.Launch(() => AttentionRollout.For(s.Device).Step(output, input, probabilities, shape));
        return [Out("output", output, Tolerance.Reduction)];
    });

    private static KernelCase CrossEntropyCase(int batch, int classes, float smoothing)
        => new($"crossentropy {batch}x{classes} smoothing={smoothing}", typeof(CrossEntropy), s =>
        {
            var loss = CrossEntropy.For(s.Device);
            var logits = s.Upload(Uniform(130, (long)batch * classes, 4f));
            var targets = s.Upload(Enumerable.Range(0, batch).Select(b => (b * 7) % classes).ToArray());
            var mean = s.Zeros(1);
            var losses = s.Zeros(batch);
            var probabilities = s.Zeros((long)batch * classes);
            s.Launch(() => loss.Forward(mean, losses, probabilities, logits, targets, batch, classes, smoothing));
            var dlogits = s.Upload(Uniform(131, (long)batch * classes));
            s.Launch(() => loss.Backward(dlogits, probabilities, targets, batch, classes, smoothing));
            var t = Tolerance.Reduction;
            return [Out("loss", mean, t), Out("losses", losses, t), Out("probabilities", probabilities, t), Out("dlogits", dlogits, t)];
        });

    private static KernelCase AdamWCase(int count) => new($"adamw {count} x2 steps", typeof(AdamW), s =>
    {
        var adam = AdamW.For(s.Device);
        var parameters = s.Upload(Uniform(140, count));
        var first = s.Upload(Uniform(141, count, 0.01f));
        var second = s.Upload(Array.ConvertAll(Uniform(142, count, 1e-4f), Math.Abs));
        var settings = new AdamWSettings(1e-3f, 0.9f, 0.999f, 1e-8f, 0.05f);
        var gradient1 = s.Upload(Uniform(143, count));
        s.Launch(() => adam.Step(parameters, first, second, gradient1, settings, 1));
        var gradient2 = s.Upload(Uniform(144, count));
        s.Launch(() => adam.Step(parameters, first, second, gradient2, settings, 2));
        var t = Tolerance.Elementwise;
        return [Out("parameters", parameters, t), Out("first moment", first, t), Out("second moment", second, t)];
    });

    // AdamW with each step's coefficients written into device memory first (DeviceStepValues), as a replayed CUDA graph
    // reads them: the same two steps as AdamWCase, so the rows must agree with its.
    private static KernelCase StoredAdamWCase(int count) => new($"adamw {count} x2 steps, step values on the device", typeof(DeviceStepValues), s =>
    {
        var adam = AdamW.For(s.Device);
        var values = s.Own(new DeviceStepValues(s.Device));
        var parameters = s.Upload(Uniform(140, count));
        var first = s.Upload(Uniform(141, count, 0.01f));
        var second = s.Upload(Array.ConvertAll(Uniform(142, count, 1e-4f), Math.Abs));
        var settings = new AdamWSettings(1e-3f, 0.9f, 0.999f, 1e-8f, 0.05f);
        var gradient1 = s.Upload(Uniform(143, count));
        s.Launch(() =>
        {
            values.Write(new StepValues(0, AdamWCoefficients.Of(settings, 1)));
            adam.Step(parameters, first, second, gradient1, values.Values);
        });
        var gradient2 = s.Upload(Uniform(144, count));
        s.Launch(() =>
        {
            values.Write(new StepValues(1, AdamWCoefficients.Of(settings, 2)));
            adam.Step(parameters, first, second, gradient2, values.Values);
        });
        var t = Tolerance.Elementwise;
        return [Out("parameters", parameters, t), Out("first moment", first, t), Out("second moment", second, t)];
    });

    private static KernelCase TrainingStatisticsCase(int batch, int classes) => new($"training statistics {batch}x{classes}", typeof(TrainingStatistics), s =>
    {
        var statisticsKernel = TrainingStatistics.For(s.Device);
        var statistics = s.Zeros(TrainingStatistics.Length);
        TrainingStatistics.Reset(statistics);
        var probabilities = s.Upload(Array.ConvertAll(Uniform(150, (long)batch * classes), Math.Abs));
        var targets = s.Upload(Enumerable.Range(0, batch).Select(b => (b * 3) % classes).ToArray());
        var losses = s.Upload(Array.ConvertAll(Uniform(151, batch), Math.Abs));
        s.Launch(() => statisticsKernel.Accumulate(statistics, losses, probabilities, targets, batch, classes, step: 5));
        var first = DeviceScope.Read(statistics);

        // A NaN loss must name its step (NaN sums compare equal to NaN).
        var diverged = Array.ConvertAll(Uniform(152, batch), Math.Abs);
        diverged[batch / 2] = float.NaN;
        var divergedLosses = s.Upload(diverged);
        s.Launch(() => statisticsKernel.Accumulate(statistics, divergedLosses, probabilities, targets, batch, classes, step: 6));
        return [new CheckOutput("after one batch", first, Tolerance.Reduction), Out("after a NaN batch", statistics, Tolerance.Reduction)];
    });

    // The device's memset, on a whole buffer and on a subview: on OpenCL it is a kernel of ours, because ILGPU 1.5.3's
    // OpenCL memset of a subview (offset > 0) zeroes the wrong range or throws (docs/opencl.md).
    private static KernelCase ClearCase(int length, int offset, int count) => new($"clear {count} of {length} at {offset}", typeof(ComputeDevice), s =>
    {
        var buffer = s.Upload(Uniform(170, length));
        s.Launch(() => s.Device.Clear(buffer.SubView(offset, count)));
        return [Out("buffer", buffer, Tolerance.Exact)];
    });

    private static KernelCase BatchAssemblerCase(bool augment) => new($"batch assembler 5x28x28{(augment ? " crop+flip" : string.Empty)}", typeof(BatchAssembler), s =>
    {
        const int Images = 10;
        const int Side = 28;
        var assembler = BatchAssembler.For(s.Device);
        var random = new Random(160);
        var bytes = new byte[Images * Side * Side];
        random.NextBytes(bytes);
        var pixels = s.Upload(bytes);

        // The last index is out of range: the image must become NaN and the label −1, on every device.
        int[] picks = [3, 0, 9, 5, Images];
        var indices = s.Upload(picks);
        var output = s.Zeros(picks.Length * Side * Side);
        s.Launch(() => assembler.Assemble(output, pixels, indices, picks.Length, Side, Side, 0.2860f, 0.3530f, augment, augment, Key));
        var labels = s.Upload(Enumerable.Range(0, Images).Select(i => (i * 3) % 10).ToArray());
        var gathered = s.IntZeros(picks.Length);
        s.Launch(() => assembler.GatherLabels(gathered, labels, indices, picks.Length));
        return [Out("images", output, Tolerance.Elementwise), Out("labels", gathered)];
    });

    // Erasing, a padding of 2 and a fixed view (TTA's mirror and shift) on top of crop and flip, so every switch of the kernel runs.
    private static KernelCase BatchAssemblerErasingCase() => new("batch assembler 5x28x28 crop2+flip+erase+view", typeof(BatchAssembler), s =>
    {
        const int Images = 10;
        const int Side = 28;
        var assembler = BatchAssembler.For(s.Device);
        var bytes = new byte[Images * Side * Side];
        new Random(161).NextBytes(bytes);
        int[] picks = [3, 0, 9, 5, 1];
        var output = s.Zeros(picks.Length * Side * Side);
        var pixels = s.Upload(bytes);
        var indices = s.Upload(picks);
        s.Launch(() => assembler.Assemble(output, pixels, indices, picks.Length, Side, Side, 0.2860f, 0.3530f, new BatchAugmentation(true, true, 2, Erase: true), new BatchView(true, 1, -1), Key));
        return [Out("images", output, Tolerance.Elementwise)];
    });

    private static KernelCase WeightAverageCase(int count) => new($"weight average {count} x2 updates", typeof(WeightAverage), s =>
    {
        var average = WeightAverage.For(s.Device);
        var averaged = s.Upload(Uniform(175, count));
        var weights1 = s.Upload(Uniform(171, count));
        var weights2 = s.Upload(Uniform(172, count));
        s.Launch(() => average.Update(averaged, weights1, 0.1f));
        s.Launch(() => average.Update(averaged, weights2, 0.001f));
        return [Out("average", averaged, Tolerance.Elementwise)];
    });
}
