using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Gpu.Model;

/// <summary>
/// A Compact Convolutional Transformer composed from the layer kernels. Parameters, gradients and
/// AdamW moments are flat buffers (<see cref="ParameterSet"/>); activations and their gradients are two
/// more flat buffers sized for <see cref="MaxBatch"/>, so zeroing all activation gradients is one memset.
/// Parameter names follow the official PyTorch state_dict, so checkpoints read back into PyTorch.
/// </summary>
public sealed partial class CctModel : IDisposable
{
    private const uint TokenizerDropoutStream = 1000;
    private const uint AttentionDropoutStream = 2000;
    private const uint AttentionDropPathStream = 3000;
    private const uint MlpDropPathStream = 4000;
    private const string SharedBlockPrefix = "blk.";
    private const string TransientPrefix = "transient.";

    private readonly ComputeDevice device;
    private readonly TensorLayout activationLayout = new();
    private readonly List<(string Name, int[] Shape)> activationNames = [];
    private readonly Dictionary<string, (string Slot, long Length)> activationSlotOf = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> transientLengths = new(StringComparer.Ordinal);
    private readonly TensorLayout gradientLayout = new();
    private readonly Dictionary<string, string> gradientSlotOf = new(StringComparer.Ordinal);
    private long sharedGradientsOffset;
    private readonly TensorLayout argmaxLayout = new();
    private readonly List<ConvStage> stages = [];
    private readonly MemoryBuffer1D<float, Stride1D.Dense> activations;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> activationGradients;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> buffers;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> argmax;
    private ArrayView<float> images;
    private int batch;
    private bool training;

    public CctModel(ComputeDevice device, CctConfig config, int maxBatch)
    {
        config.Validate();
        if (maxBatch <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxBatch), "batch size must be positive");
        }

        this.device = device;
        Config = config;
        MaxBatch = maxBatch;
        var parameterLayout = new TensorLayout();
        BufferLayout = new TensorLayout();
        DescribeTokenizer(parameterLayout);
        DescribeClassifier(parameterLayout);
        Parameters = new ParameterSet(device, parameterLayout);
        buffers = device.Allocate(BufferLayout.TotalLength);
        DescribeTransients();
        DescribeGradients();
        activations = device.Allocate(activationLayout.TotalLength);
        activationGradients = device.Allocate(gradientLayout.TotalLength);
        argmax = device.Accelerator.Allocate1D<int>(Math.Max(1, argmaxLayout.TotalLength));
        buffers.MemSetToZero();
        activations.MemSetToZero();
        activationGradients.MemSetToZero();
    }

    public CctConfig Config { get; private set; }

    public int MaxBatch { get; }

    internal ParameterSet Parameters { get; }

    /// <summary>
    /// Device bytes the model holds: parameters, gradients, AdamW moments, buffers, activations and their
    /// gradients for <see cref="MaxBatch"/>. All are allocated here; a step allocates nothing.
    /// </summary>
    public long DeviceBytes => Parameters.DeviceBytes + buffers.LengthInBytes + activations.LengthInBytes + activationGradients.LengthInBytes + argmax.LengthInBytes;

    /// <summary>Non-trainable state saved with the model: BatchNorm running statistics, a fixed sine embedding.</summary>
    internal TensorLayout BufferLayout { get; }

    /// <summary>Seed of the counter RNG behind dropout and drop-path.</summary>
    public uint Seed { get; set; }

    /// <summary>Training step; with <see cref="Seed"/> it fixes every dropout mask, so resumed runs repeat exactly.</summary>
    public uint Step { get; set; }

    private int Tokens => Config.Tokens;

    private int Dim => Config.Dim;

    /// <summary>
    /// Fills parameters and buffers as the official code does, from <paramref name="seed"/>: one
    /// <see cref="SeededRandom"/> stream (seed, initialisation) in slot order, so every process draws the same weights.
    /// </summary>
    public void Initialize(int seed)
    {
        var random = SeededRandom.For(seed, SeededRandom.InitializationStream, 0);
        foreach (var slot in Parameters.Layout.Slots)
        {
            Parameters.WriteValue(slot.Name, InitialValues(slot, ref random));
        }

        foreach (var slot in BufferLayout.Slots)
        {
            float[] values = slot.Name.EndsWith(".running_var", StringComparison.Ordinal)
                ? Enumerable.Repeat(1f, (int)slot.Length).ToArray()
                : slot.Name == "classifier.positional_emb" ? Layers.Tokens.SineEmbedding(Tokens, Dim) : new float[slot.Length];
            WriteBuffer(slot.Name, values);
        }
    }

    internal float[] ReadBuffer(string name)
    {
        var slot = BufferLayout[name];
        var data = new float[slot.Length];
        Buffer(name).CopyToCPU(data);
        return data;
    }

    internal void WriteBuffer(string name, float[] data)
    {
        var slot = BufferLayout[name];
        if (data.Length != slot.Length)
        {
            throw new ArgumentException($"'{name}' expects {slot.Length} values {slot.ShapeText}, got {data.Length}", nameof(data));
        }

        Buffer(name).CopyFromCPU(data);
    }

    /// <summary>
    /// Runs the model on images (B, InChannels, ImageSize, ImageSize) and returns logits (B, Classes).
    /// In training mode it uses batch statistics and draws dropout masks from (Seed, Step); it saves
    /// every activation that <see cref="Backward"/> needs. The images view must stay valid until then.
    /// </summary>
    public ArrayView<float> Forward(ArrayView<float> input, int batchSize, bool train)
    {
        if (batchSize <= 0 || batchSize > MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch {batchSize} is outside 1..{MaxBatch}");
        }

        images = input;
        batch = batchSize;
        training = train;
        foreach (var stage in stages)
        {
            ForwardConvStage(stage);
        }

        var c = Config;
        var tokens = new TokensShape(batch, Dim, Tokens);
        var learnable = c.PositionalEmbedding == PositionalEmbeddingKind.Learnable;
        var positional = c.PositionalEmbedding switch
        {
            PositionalEmbeddingKind.Learnable => Parameters.Value("classifier.positional_emb"),
            PositionalEmbeddingKind.Sine => Buffer("classifier.positional_emb"),
            _ => Act("tokens"),
        };
        Layers.Tokens.For(device).Forward(Act("tokens"), Act(stages[^1].Output), positional, learnable || c.PositionalEmbedding == PositionalEmbeddingKind.Sine, tokens);

        var stream = "tokens";
        for (var j = 0; j < c.Layers; j++)
        {
            stream = c.Layout == BlockLayout.Official ? ForwardOfficialBlock(j, stream) : ForwardPostNormBlock(j, stream);
        }

        if (c.Layout == BlockLayout.Official)
        {
            LayerNorm.For(device).Forward(Act("norm"), Act("norm.mean"), Act("norm.rstd"), Act(stream), Param("classifier.norm.weight"), Param("classifier.norm.bias"), Rows, Dim);
            stream = "norm";
        }

        if (c.Pooling == PoolingKind.Seq)
        {
            SeqPool.For(device).Forward(Act("pooled"), Act("pool.weights"), Act(stream), Param("classifier.attention_pool.weight"), Param("classifier.attention_pool.bias"), batch, Tokens, Dim);
        }
        else
        {
            MeanPool.For(device).Forward(Act("pooled"), Act(stream), batch, Tokens, Dim);
        }

        Linear.For(device).Forward(Act("logits"), Act("pooled"), Param("classifier.fc.weight"), Param("classifier.fc.bias"), true, batch, Dim, c.Classes);
        return Act("logits").SubView(0, (long)batch * c.Classes);
    }

    /// <summary>
    /// Cross-entropy (mean over the batch, with label smoothing) of the last forward against labels (B),
    /// then the whole backward pass. Parameter gradients are accumulated into <see cref="ParameterSet.Gradients"/>;
    /// the caller zeroes them (one memset) when it starts a new accumulation.
    /// </summary>
    public void Backward(ArrayView<int> labels, float labelSmoothing)
    {
        if (batch == 0)
        {
            throw new InvalidOperationException("Backward needs a Forward first");
        }

        var c = Config;
        using var parameterSums = PartialSums.For(device).Defer();
        device.Clear(BatchGradients(0, gradientLayout.TotalLength));
        CrossEntropy.For(device).ForwardBackward(Act("loss"), Act("losses"), Act("probabilities"), Grad("logits"), Act("logits"), labels, batch, c.Classes, labelSmoothing);
        Linear.For(device).Backward(Grad("pooled"), ParamGrad("classifier.fc.weight"), ParamGrad("classifier.fc.bias"), Grad("logits"), Act("pooled"), Param("classifier.fc.weight"), true, batch, Dim, c.Classes);

        var last = c.Layers == 0 ? "tokens" : BlockOutput(c.Layers - 1);
        var pooledFrom = c.Layout == BlockLayout.Official ? "norm" : last;
        if (c.Pooling == PoolingKind.Seq)
        {
            SeqPool.For(device).Backward(Grad(pooledFrom), ParamGrad("classifier.attention_pool.weight"), ParamGrad("classifier.attention_pool.bias"), Grad("pooled"), Act(pooledFrom), Act("pool.weights"), Param("classifier.attention_pool.weight"), batch, Tokens, Dim);
        }
        else
        {
            MeanPool.For(device).Backward(Grad(pooledFrom), Grad("pooled"), batch, Tokens, Dim);
        }

        if (c.Layout == BlockLayout.Official)
        {
            LayerNorm.For(device).Backward(Grad(last), ParamGrad("classifier.norm.weight"), ParamGrad("classifier.norm.bias"), Grad("norm"), Act(last), Act("norm.mean"), Act("norm.rstd"), Param("classifier.norm.weight"), Rows, Dim);
        }

        for (var j = c.Layers - 1; j >= 0; j--)
        {
            var input = j == 0 ? "tokens" : BlockOutput(j - 1);
            if (j < c.Layers - 1)
            {
                // Blocks share their internal gradient buffers; the previous block left its sums there.
                device.Clear(BlockGradientScratch());
            }

            if (c.Layout == BlockLayout.Official)
            {
                BackwardOfficialBlock(j, input);
            }
            else
            {
                BackwardPostNormBlock(j, input);
            }
        }

        var learnable = c.PositionalEmbedding == PositionalEmbeddingKind.Learnable;
        Layers.Tokens.For(device).Backward(Grad(stages[^1].Output), learnable ? ParamGrad("classifier.positional_emb") : Grad("tokens"), Grad("tokens"), learnable, new TokensShape(batch, Dim, Tokens));
        for (var i = stages.Count - 1; i >= 0; i--)
        {
            BackwardConvStage(stages[i]);
        }
    }

    /// <summary>
    /// One optimisation step on images (B, InChannels, ImageSize, ImageSize) and labels (B): forward in
    /// training mode, zero-grad (one memset), backward, then AdamW over the flat buffer as step
    /// <see cref="Step"/> + 1; <see cref="Step"/> then advances. Nothing here waits for the device.
    /// </summary>
    public void TrainStep(ArrayView<float> input, ArrayView<int> labels, int batchSize, float labelSmoothing, AdamWSettings settings)
    {
        Forward(input, batchSize, train: true);
        device.Clear(Parameters.Gradients.View);
        Backward(labels, labelSmoothing);
        AdamW.For(device).Step(Parameters.Values.View, Parameters.FirstMoment.View, Parameters.SecondMoment.View, Parameters.Gradients.View, settings, (int)Step + 1);
        Step++;
    }

    /// <summary>
    /// Where the model looks: runs normalised images (N, InChannels, ImageSize, ImageSize), host values, in
    /// eval mode and returns per image its sequence-pooling weights and their attention rollout on the token
    /// grid, with its class probabilities (<see cref="AttentionMap"/>). Synchronises with the device.
    /// </summary>
    public IReadOnlyList<AttentionMap> AttentionMaps(ReadOnlySpan<float> images) => AttentionMapper.Compute(this, device, images);

    /// <summary>Sequence-pooling weights (B, T) of the last forward (SeqPool models only).</summary>
    internal ArrayView<float> PoolingWeights => Act("pool.weights");

    /// <summary>Attention probabilities (B, Heads, T, T) of block <paramref name="j"/> in the last forward.</summary>
    internal ArrayView<float> AttentionProbabilities(int j) => Act($"b{j}.probs");

    /// <summary>Per-sample losses (B) of the last <see cref="Backward"/>.</summary>
    public ArrayView<float> Losses => Act("losses");

    /// <summary>Softmax of the logits (B, Classes) of the last <see cref="Backward"/>.</summary>
    public ArrayView<float> Probabilities => Act("probabilities");

    /// <summary>The mean loss of the last <see cref="Backward"/> (synchronises with the device).</summary>
    public float ReadLoss()
    {
        var loss = new float[1];
        Act("loss").SubView(0, 1).CopyToCPU(loss);
        return loss[0];
    }

    public void Dispose()
    {
        Parameters.Dispose();
        buffers.Dispose();
        activations.Dispose();
        activationGradients.Dispose();
        argmax.Dispose();
    }

    private int Rows => batch * Tokens;

    private static string Block(int j) => $"classifier.blocks.{j}.";

    private string BlockOutput(int j) => Config.Layout == BlockLayout.Official ? $"b{j}.res2" : $"b{j}.ln2";

    private float DropPathRate(int j) => Config.Layers == 1 ? 0f : Config.StochasticDepth * j / (Config.Layers - 1);

    private RngKey Key(uint stream) => new(Seed, stream, Step);

    private ArrayView<float> Act(string name)
    {
        var (slot, length) = activationSlotOf[name];
        return activations.View.SubView(activationLayout[slot].Offset, length);
    }

    private ArrayView<float> Grad(string name)
    {
        var slot = gradientLayout[gradientSlotOf[name]];
        return BatchGradients(slot.Offset, slot.Length);
    }

    // The blocks' shared gradient slots, laid out last (DescribeGradients), so one range from the first to the end.
    private ArrayView<float> BlockGradientScratch() => BatchGradients(sharedGradientsOffset, gradientLayout.TotalLength - sharedGradientsOffset);

    /// <summary>
    /// A range of the gradient layout, packed for the current batch: every gradient slot is (MaxBatch, ...), so a batch
    /// of B uses B / MaxBatch of each slot's offset and length, and the gradients of a step lie in the buffer's first
    /// B / MaxBatch. The memsets then clear what the step uses, not MaxBatch's worth (a smaller last batch clears less).
    /// </summary>
    private ArrayView<float> BatchGradients(long offset, long length) => activationGradients.View.SubView(offset / MaxBatch * batch, length / MaxBatch * batch);

    private ArrayView<float> Param(string name) => Parameters.Value(name);

    private ArrayView<float> ParamGrad(string name) => Parameters.Gradient(name);

    private ArrayView<float> Buffer(string name) => Slice(buffers, BufferLayout[name]);

    private ArrayView<int> Argmax(string name)
    {
        var slot = argmaxLayout[name];
        return argmax.View.SubView(slot.Offset, slot.Length);
    }

    private static ArrayView<float> Slice(MemoryBuffer1D<float, Stride1D.Dense> buffer, TensorSlot slot) => buffer.View.SubView(slot.Offset, slot.Length);

    /// <summary>An activation the backward pass reads: its own slot.</summary>
    private void AddActivation(string name, params int[] perSample)
    {
        int[] shape = [MaxBatch, .. perSample];
        var slot = activationLayout.Add(name, shape);
        activationNames.Add((name, shape));
        activationSlotOf[name] = (name, slot.Length);
    }

    /// <summary>
    /// An activation only the next layer of the forward pass reads (a branch output before its residual, a ReLU
    /// output before its max-pool): it lives in a scratch slot shared by every activation of that
    /// <paramref name="kind"/>, since the backward pass never reads it. It still gets a gradient slot.
    /// </summary>
    private void AddTransient(string name, string kind, params int[] perSample)
    {
        int[] shape = [MaxBatch, .. perSample];
        var length = shape.Aggregate(1L, (a, b) => a * b);
        var slot = TransientPrefix + kind;
        activationNames.Add((name, shape));
        activationSlotOf[name] = (slot, length);
        transientLengths[slot] = Math.Max(length, transientLengths.GetValueOrDefault(slot));
    }

    private void AddStageActivation(string name, string kind, bool transient, int[] perSample)
    {
        if (transient)
        {
            AddTransient(name, kind, perSample);
        }
        else
        {
            AddActivation(name, perSample);
        }
    }

    /// <summary>A tensor not sized by the batch (BatchNorm's batch statistics, the mean loss).</summary>
    private void AddStatistics(string name, int length)
    {
        activationLayout.Add(name, length);
        activationNames.Add((name, [length]));
        activationSlotOf[name] = (name, length);
    }

    private void DescribeTransients()
    {
        foreach (var (slot, length) in transientLengths)
        {
            activationLayout.Add(slot, checked((int)length));
        }
    }

    /// <summary>
    /// Gradients of activations, laid out apart from the activations: a block's backward needs the gradients
    /// of its own intermediates only while it runs, so all blocks share one set ("blk.*", zeroed before each
    /// block) and only each block's output keeps its own. This drops the gradient memory from one copy of every
    /// block's activations to one block's. Statistics, probabilities and scratch have no gradient.
    /// </summary>
    private void DescribeGradients()
    {
        var shared = new List<(string Activation, string Slot, int[] Shape)>();
        foreach (var (name, shape) in activationNames)
        {
            if (name.EndsWith(".mean", StringComparison.Ordinal) || name.EndsWith(".rstd", StringComparison.Ordinal) || name.EndsWith(".probs", StringComparison.Ordinal)
                || name is "dprobs" or "probabilities" or "losses" or "loss" or "pool.weights")
            {
                continue;
            }

            var dot = name.IndexOf('.', StringComparison.Ordinal);
            if (name.StartsWith('b') && dot > 1 && int.TryParse(name.AsSpan(1, dot - 1), out var j) && name != BlockOutput(j))
            {
                shared.Add((name, SharedBlockPrefix + name[(dot + 1)..], shape));
                continue;
            }

            gradientLayout.Add(name, shape);
            gradientSlotOf[name] = name;
        }

        // Last, so the shared set is one contiguous range for its memset.
        sharedGradientsOffset = gradientLayout.TotalLength;
        foreach (var (activation, sharedSlot, shape) in shared)
        {
            if (!gradientLayout.Contains(sharedSlot))
            {
                gradientLayout.Add(sharedSlot, shape);
            }

            gradientSlotOf[activation] = sharedSlot;
        }

        if (gradientLayout.Slots.Any(slot => slot.Shape[0] != MaxBatch))
        {
            throw new InvalidOperationException("every activation gradient must be (MaxBatch, ...), as BatchGradients packs them per batch");
        }
    }

    private void DescribeTokenizer(TensorLayout parameters)
    {
        var c = Config;
        var channels = c.TokenizerChannels;
        var side = c.ImageSize;
        var inChannels = c.InChannels;
        for (var i = 0; i < channels.Count; i++)
        {
            var outChannels = channels[i];
            var prefix = $"tokenizer.conv_layers.{i}.";
            parameters.Add(prefix + "0.weight", outChannels, inChannels, c.Kernel, c.Kernel);
            var conv = new Conv2dShape(MaxBatch, inChannels, side, side, outChannels, c.Kernel, 1, c.Kernel / 2);
            side = conv.OutHeight;
            var spatial = new[] { outChannels, side, side };
            AddActivation($"t{i}.conv", spatial);
            var current = $"t{i}.conv";
            string? norm = null;
            if (c.BatchNorm)
            {
                parameters.Add(prefix + "1.weight", outChannels);
                parameters.Add(prefix + "1.bias", outChannels);
                BufferLayout.Add(prefix + "1.running_mean", outChannels);
                BufferLayout.Add(prefix + "1.running_var", outChannels);
                norm = $"t{i}.bn";
                AddActivation(norm, spatial);
                AddStatistics(norm + ".mean", outChannels);
                AddStatistics(norm + ".rstd", outChannels);
                current = norm;
            }

            // Before a max-pool, whose backward needs only its argmax, the ReLU and dropout outputs are transient.
            var pools = c.PoolAfterEveryConv || i == channels.Count - 1;
            var reluInput = current;
            current = $"t{i}.relu";
            AddStageActivation(current, "pre-pool", pools, spatial);
            string? dropout = null;
            if (c.ConvDropout > 0)
            {
                dropout = $"t{i}.drop";
                AddStageActivation(dropout, "dropped-pre-pool", pools, spatial);
                current = dropout;
            }

            var poolInput = current;
            Pool2dShape? pool = null;
            if (pools)
            {
                pool = new Pool2dShape(MaxBatch, outChannels, side, side, c.PoolKernel, c.PoolStride, c.PoolPadding);
                side = pool.Value.OutHeight;
                current = $"t{i}.pool";
                AddActivation(current, outChannels, side, side);
                argmaxLayout.Add(current, MaxBatch, outChannels, side, side);
            }

            stages.Add(new ConvStage(i, prefix, conv, i == 0 ? null : stages[^1].Output, norm, reluInput, dropout, poolInput, pool, current));
            inChannels = outChannels;
        }
    }

    private void DescribeClassifier(TensorLayout parameters)
    {
        var c = Config;
        int t = Tokens, d = Dim, h = c.MlpHidden;
        if (c.PositionalEmbedding == PositionalEmbeddingKind.Learnable)
        {
            parameters.Add("classifier.positional_emb", 1, t, d);
        }
        else if (c.PositionalEmbedding == PositionalEmbeddingKind.Sine)
        {
            BufferLayout.Add("classifier.positional_emb", 1, t, d);
        }

        if (c.Pooling == PoolingKind.Seq)
        {
            parameters.Add("classifier.attention_pool.weight", 1, d);
            parameters.Add("classifier.attention_pool.bias", 1);
        }

        AddActivation("tokens", t, d);
        for (var j = 0; j < c.Layers; j++)
        {
            var p = Block(j);
            if (c.Layout == BlockLayout.Official)
            {
                parameters.Add(p + "pre_norm.weight", d);
                parameters.Add(p + "pre_norm.bias", d);
                AddActivation($"b{j}.ln0", t, d);
                AddActivation($"b{j}.ln0.mean", t);
                AddActivation($"b{j}.ln0.rstd", t);
            }

            parameters.Add(p + "self_attn.qkv.weight", 3 * d, d);
            parameters.Add(p + "self_attn.proj.weight", d, d);
            parameters.Add(p + "self_attn.proj.bias", d);
            parameters.Add(p + "linear1.weight", h, d);
            parameters.Add(p + "linear1.bias", h);
            parameters.Add(p + "norm1.weight", d);
            parameters.Add(p + "norm1.bias", d);
            parameters.Add(p + "linear2.weight", d, h);
            parameters.Add(p + "linear2.bias", d);
            AddActivation($"b{j}.qkv", t, 3 * d);
            AddActivation($"b{j}.att", t, d);
            AddActivation($"b{j}.probs", c.Heads, t, t);
            AddTransient($"b{j}.proj", "branch", t, d);
            AddActivation($"b{j}.res1", t, d);
            AddActivation($"b{j}.ln1", t, d);
            AddActivation($"b{j}.ln1.mean", t);
            AddActivation($"b{j}.ln1.rstd", t);
            AddActivation($"b{j}.fc1", t, h);
            AddActivation($"b{j}.act", t, h);
            AddTransient($"b{j}.fc2", "branch", t, d);
            AddActivation($"b{j}.res2", t, d);

            if (c.Layout == BlockLayout.PostNorm)
            {
                parameters.Add(p + "norm2.weight", d);
                parameters.Add(p + "norm2.bias", d);
                AddActivation($"b{j}.ln2", t, d);
                AddActivation($"b{j}.ln2.mean", t);
                AddActivation($"b{j}.ln2.rstd", t);
            }
        }

        // Attention backward's dprobabilities scratch, shared by all blocks (overwritten each time).
        AddActivation("dprobs", c.Heads, t, t);
        if (c.Layout == BlockLayout.Official)
        {
            parameters.Add("classifier.norm.weight", d);
            parameters.Add("classifier.norm.bias", d);
            AddActivation("norm", t, d);
            AddActivation("norm.mean", t);
            AddActivation("norm.rstd", t);
        }

        if (c.Pooling == PoolingKind.Seq)
        {
            AddActivation("pool.weights", t);
        }

        parameters.Add("classifier.fc.weight", c.Classes, d);
        parameters.Add("classifier.fc.bias", c.Classes);
        AddActivation("pooled", d);
        AddActivation("logits", c.Classes);
        AddActivation("probabilities", c.Classes);
        AddActivation("losses");
        AddStatistics("loss", 1);
    }

    private void ForwardConvStage(ConvStage s)
    {
        var conv = s.Conv with { Batch = batch };
        var input = s.Input is null ? images : Act(s.Input);
        Conv2d.For(device).Forward(Act($"t{s.Index}.conv"), input, Param(s.Prefix + "0.weight"), conv);
        var spatial = conv.OutHeight * conv.OutWidth;
        long count = (long)batch * conv.OutChannels * spatial;
        if (s.Norm is not null)
        {
            var bn = BatchNorm2d.For(device);
            var shape = new BatchNormShape(batch, conv.OutChannels, spatial);
            if (training)
            {
                bn.ForwardTraining(Act(s.Norm), Act(s.Norm + ".mean"), Act(s.Norm + ".rstd"), Buffer(s.Prefix + "1.running_mean"), Buffer(s.Prefix + "1.running_var"), Act($"t{s.Index}.conv"), Param(s.Prefix + "1.weight"), Param(s.Prefix + "1.bias"), shape);
            }
            else
            {
                bn.ForwardEval(Act(s.Norm), Act($"t{s.Index}.conv"), Param(s.Prefix + "1.weight"), Param(s.Prefix + "1.bias"), Buffer(s.Prefix + "1.running_mean"), Buffer(s.Prefix + "1.running_var"), shape);
            }
        }

        Relu.For(device).Forward(Act($"t{s.Index}.relu"), Act(s.ReluInput), count);
        if (s.Dropout is not null)
        {
            Dropout.For(device).Forward(Act(s.Dropout), Act($"t{s.Index}.relu"), count, training ? Config.ConvDropout : 0f, Key(TokenizerDropoutStream + (uint)s.Index));
        }

        if (s.Pool is { } pool)
        {
            MaxPool2d.For(device).Forward(Act(s.Output), Argmax(s.Output), Act(s.PoolInput), pool with { Batch = batch });
        }
    }

    private void BackwardConvStage(ConvStage s)
    {
        var conv = s.Conv with { Batch = batch };
        var spatial = conv.OutHeight * conv.OutWidth;
        long count = (long)batch * conv.OutChannels * spatial;
        if (s.Pool is { } pool)
        {
            MaxPool2d.For(device).Backward(Grad(s.PoolInput), Grad(s.Output), Argmax(s.Output), pool with { Batch = batch });
        }

        if (s.Dropout is not null)
        {
            Dropout.For(device).Backward(Grad($"t{s.Index}.relu"), Grad(s.Dropout), count, training ? Config.ConvDropout : 0f, Key(TokenizerDropoutStream + (uint)s.Index));
        }

        Relu.For(device).Backward(Grad(s.ReluInput), Grad($"t{s.Index}.relu"), Act(s.ReluInput), count);
        if (s.Norm is not null)
        {
            BatchNorm2d.For(device).Backward(Grad($"t{s.Index}.conv"), ParamGrad(s.Prefix + "1.weight"), ParamGrad(s.Prefix + "1.bias"), Grad(s.Norm), Act($"t{s.Index}.conv"), Act(s.Norm + ".mean"), Act(s.Norm + ".rstd"), Param(s.Prefix + "1.weight"), new BatchNormShape(batch, conv.OutChannels, spatial));
        }

        var hasInput = s.Input is not null;
        Conv2d.For(device).Backward(hasInput ? Grad(s.Input!) : Grad($"t{s.Index}.conv"), ParamGrad(s.Prefix + "0.weight"), Grad($"t{s.Index}.conv"), hasInput ? Act(s.Input!) : images, Param(s.Prefix + "0.weight"), conv, inputGradient: hasInput);
    }

    // x += Attn(LN_pre(x)); x = LN1(x); x += MLP(x), with LN1 on the residual stream as in the official code.
    private string ForwardOfficialBlock(int j, string input)
    {
        var p = Block(j);
        var b = $"b{j}.";
        LayerNorm.For(device).Forward(Act(b + "ln0"), Act(b + "ln0.mean"), Act(b + "ln0.rstd"), Act(input), Param(p + "pre_norm.weight"), Param(p + "pre_norm.bias"), Rows, Dim);
        ForwardResidualNorm(j, b + "ln1", b + "res1", input, ForwardAttention(j, b + "ln0"), p + "norm1.", AttentionDropPathStream);
        ForwardResidual(j, b + "res2", b + "ln1", ForwardMlp(j, b + "ln1"), MlpDropPathStream);
        return b + "res2";
    }

    private void BackwardOfficialBlock(int j, string input)
    {
        var p = Block(j);
        var b = $"b{j}.";
        BackwardResidual(j, b + "res2", b + "ln1", b + "fc2", MlpDropPathStream);
        BackwardMlpAndNorm1(j, input);
        BackwardAttention(j, b + "ln0");
        LayerNorm.For(device).Backward(Grad(input), ParamGrad(p + "pre_norm.weight"), ParamGrad(p + "pre_norm.bias"), Grad(b + "ln0"), Act(input), Act(b + "ln0.mean"), Act(b + "ln0.rstd"), Param(p + "pre_norm.weight"), Rows, Dim);
    }

    // The part both layouts share, once Grad(ln1) has the second residual's share: ln1 = LN1(res1), res1 = input + Attn(·),
    // with the MLP's share added first. Leaves Grad(proj) for attention.
    private void BackwardMlpAndNorm1(int j, string input)
    {
        var b = $"b{j}.";
        BackwardMlp(j, b + "ln1");
        BackwardResidualNorm(j, b + "ln1", b + "res1", input, b + "proj", Block(j) + "norm1.", AttentionDropPathStream);
    }

    // x = LN1(x + Attn(x)); x = LN2(x + MLP(x)), as torch.nn.TransformerEncoderLayer with norm_first=False.
    private string ForwardPostNormBlock(int j, string input)
    {
        var p = Block(j);
        var b = $"b{j}.";
        ForwardResidualNorm(j, b + "ln1", b + "res1", input, ForwardAttention(j, input), p + "norm1.", AttentionDropPathStream);
        ForwardResidualNorm(j, b + "ln2", b + "res2", b + "ln1", ForwardMlp(j, b + "ln1"), p + "norm2.", MlpDropPathStream);
        return b + "ln2";
    }

    private void BackwardPostNormBlock(int j, string input)
    {
        var b = $"b{j}.";
        BackwardResidualNorm(j, b + "ln2", b + "res2", b + "ln1", b + "fc2", Block(j) + "norm2.", MlpDropPathStream);
        BackwardMlpAndNorm1(j, input);
        BackwardAttention(j, input);
    }

    private string ForwardAttention(int j, string input)
    {
        var p = Block(j) + "self_attn.";
        var b = $"b{j}.";
        var linear = Linear.For(device);
        linear.Forward(Act(b + "qkv"), Act(input), Param(p + "qkv.weight"), Param(p + "qkv.weight"), false, Rows, Dim, 3 * Dim);
        Attention.For(device).Forward(Act(b + "att"), Act(b + "probs"), Act(b + "qkv"), AttentionShapeFor(), training ? Config.AttentionDropout : 0f, Key(AttentionDropoutStream + (uint)j));
        linear.Forward(Act(b + "proj"), Act(b + "att"), Param(p + "proj.weight"), Param(p + "proj.bias"), true, Rows, Dim, Dim);
        return b + "proj";
    }

    private void BackwardAttention(int j, string input)
    {
        var p = Block(j) + "self_attn.";
        var b = $"b{j}.";
        var linear = Linear.For(device);
        linear.Backward(Grad(b + "att"), ParamGrad(p + "proj.weight"), ParamGrad(p + "proj.bias"), Grad(b + "proj"), Act(b + "att"), Param(p + "proj.weight"), true, Rows, Dim, Dim);
        Attention.For(device).Backward(Grad(b + "qkv"), Act("dprobs"), Grad(b + "att"), Act(b + "qkv"), Act(b + "probs"), AttentionShapeFor(), training ? Config.AttentionDropout : 0f, Key(AttentionDropoutStream + (uint)j));
        linear.Backward(Grad(input), ParamGrad(p + "qkv.weight"), ParamGrad(p + "qkv.weight"), Grad(b + "qkv"), Act(input), Param(p + "qkv.weight"), false, Rows, Dim, 3 * Dim);
    }

    // Linear → GELU (official) or ReLU (post-norm) → Linear.
    private string ForwardMlp(int j, string input)
    {
        var p = Block(j);
        var b = $"b{j}.";
        var h = Config.MlpHidden;
        var linear = Linear.For(device);
        linear.Forward(Act(b + "fc1"), Act(input), Param(p + "linear1.weight"), Param(p + "linear1.bias"), true, Rows, Dim, h);
        if (Config.Layout == BlockLayout.Official)
        {
            Gelu.For(device).Forward(Act(b + "act"), Act(b + "fc1"), (long)Rows * h);
        }
        else
        {
            Relu.For(device).Forward(Act(b + "act"), Act(b + "fc1"), (long)Rows * h);
        }

        linear.Forward(Act(b + "fc2"), Act(b + "act"), Param(p + "linear2.weight"), Param(p + "linear2.bias"), true, Rows, h, Dim);
        return b + "fc2";
    }

    private void BackwardMlp(int j, string input)
    {
        var p = Block(j);
        var b = $"b{j}.";
        var h = Config.MlpHidden;
        var linear = Linear.For(device);
        linear.Backward(Grad(b + "act"), ParamGrad(p + "linear2.weight"), ParamGrad(p + "linear2.bias"), Grad(b + "fc2"), Act(b + "act"), Param(p + "linear2.weight"), true, Rows, h, Dim);
        if (Config.Layout == BlockLayout.Official)
        {
            linear.BackwardThroughGelu(Grad(input), ParamGrad(p + "linear1.weight"), ParamGrad(p + "linear1.bias"), Grad(b + "fc1"), Grad(b + "act"), Act(b + "fc1"), Act(input), Param(p + "linear1.weight"), Rows, Dim, h);
        }
        else
        {
            Relu.For(device).Backward(Grad(b + "fc1"), Grad(b + "act"), Act(b + "fc1"), (long)Rows * h);
            linear.Backward(Grad(input), ParamGrad(p + "linear1.weight"), ParamGrad(p + "linear1.bias"), Grad(b + "fc1"), Act(input), Param(p + "linear1.weight"), true, Rows, Dim, h);
        }
    }

    // output = input + drop_path(branch), the mask drawn in the residual's own kernel; in eval it passes the branch through.
    private void ForwardResidual(int j, string output, string input, string branch, uint stream)
        => Residual.For(device).Forward(Act(output), Act(input), Act(branch), batch, Tokens * Dim, training ? DropPathRate(j) : 0f, Key(stream + (uint)j));

    private void BackwardResidual(int j, string output, string input, string branch, uint stream)
        => Residual.For(device).Backward(Grad(input), Grad(branch), Grad(output), batch, Tokens * Dim, training ? DropPathRate(j) : 0f, Key(stream + (uint)j));

    // output = LN(sum), sum = input + drop_path(branch): one launch on GPUs; norm is the LayerNorm's parameter prefix.
    private void ForwardResidualNorm(int j, string output, string sum, string input, string branch, string norm, uint stream)
        => LayerNorm.For(device).ForwardResidual(Act(output), Act(output + ".mean"), Act(output + ".rstd"), Act(sum), Act(input), Act(branch), Param(norm + "weight"), Param(norm + "bias"), Rows, Dim, Mask(j, stream));

    private void BackwardResidualNorm(int j, string output, string sum, string input, string branch, string norm, uint stream)
        => LayerNorm.For(device).BackwardResidual(Grad(input), Grad(branch), ParamGrad(norm + "weight"), ParamGrad(norm + "bias"), Grad(output), Act(sum), Act(output + ".mean"), Act(output + ".rstd"), Param(norm + "weight"), Rows, Dim, Mask(j, stream), Grad(sum));

    private DropPathMask Mask(int j, uint stream) => DropPathMask.For(Tokens * Dim, training ? DropPathRate(j) : 0f, Key(stream + (uint)j));

    private AttentionShape AttentionShapeFor() => new(batch, Tokens, Dim, Config.Heads);

    private static float[] InitialValues(TensorSlot slot, ref SeededRandom random)
    {
        var name = slot.Name;
        var values = new float[slot.Length];
        if (name.StartsWith("tokenizer.", StringComparison.Ordinal) && name.EndsWith(".0.weight", StringComparison.Ordinal))
        {
            // Kaiming normal (fan_in, gain √2), torch.nn.init.kaiming_normal_'s default.
            var fanIn = slot.Shape[1] * slot.Shape[2] * slot.Shape[3];
            FillNormal(values, ref random, Math.Sqrt(2.0 / fanIn), double.PositiveInfinity);
        }
        else if (name == "classifier.positional_emb")
        {
            FillNormal(values, ref random, 0.2, 2.0);
        }
        else if (slot.Shape.Length == 2)
        {
            // Linear weights: trunc_normal_(std=0.02), cut at ±2 as timm's default bounds.
            FillNormal(values, ref random, 0.02, 2.0);
        }
        else if (name.EndsWith(".weight", StringComparison.Ordinal))
        {
            Array.Fill(values, 1f); // LayerNorm and BatchNorm scales
        }

        return values;
    }

    private static void FillNormal(float[] values, ref SeededRandom random, double std, double bound)
    {
        for (var i = 0; i < values.Length; i++)
        {
            double sample;
            do
            {
                // Box–Muller; redraw outside ±bound (truncated normal).
                var u1 = 1.0 - random.NextDouble();
                var u2 = random.NextDouble();
                sample = std * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            }
            while (Math.Abs(sample) > bound);
            values[i] = (float)sample;
        }
    }

    /// <summary>One tokenizer layer: conv → [BatchNorm] → ReLU → [dropout] → [max-pool], and the names of its activations.</summary>
    private sealed record ConvStage(int Index, string Prefix, Conv2dShape Conv, string? Input, string? Norm, string ReluInput, string? Dropout, string PoolInput, Pool2dShape? Pool, string Output);
}
