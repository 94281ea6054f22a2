using Cct.Gpu.Layers;
using Cct.Gpu.Optimizer;
using Cct.Gpu.Reductions;
using Cct.Gpu.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Gpu.Model;

/// <summary>
/// A Compact Convolutional Transformer composed from typed modules (<see cref="ConvStage"/>, <see cref="TokenEmbedding"/>,
/// <see cref="OfficialBlock"/> or <see cref="PostNormBlock"/>, <see cref="ClassifierHead"/>) built from its
/// <see cref="CctArchitecture"/>. Parameters, gradients and AdamW moments are flat buffers (<see cref="ParameterSet"/>);
/// activations and their gradients are two more flat buffers sized for <see cref="MaxBatch"/>, the gradients laid out
/// by liveness (<see cref="ModelGradients"/>); the forward pass's scratch, which backward never reads, lives in the
/// gradients' buffer, which forward never uses (<see cref="Scratch"/>). Parameter names follow the official PyTorch state_dict, so checkpoints read
/// back into PyTorch.
/// </summary>
public sealed partial class CctModel : IDisposable
{
    private readonly ComputeDevice device;
    private readonly CctArchitecture architecture;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> buffers;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> activations;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> activationGradients;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> argmax;
    private readonly IReadOnlyList<ConvStage> tokenizer;
    private readonly TokenEmbedding embedding;
    private readonly IReadOnlyList<TransformerBlock> blocks;
    private readonly ClassifierHead head;
    private readonly LifetimePlan gradientPlan;
    private readonly BackwardPhases phases;
    private readonly Dictionary<int, ModelGradients> gradientsByBatch = [];
    private readonly DeviceStepValues? stepValues;
    private readonly GraphReplay? graphs;
    private ArrayView<float> images;
    private Pass pass;
    private bool lossGradientReady;
    private readonly int maxBatchSize;
    private bool disposed;
    private CctConfig config;
    private uint seed;
    private uint step;

    /// <summary>Builds the model <paramref name="config"/> describes for batches of up to <paramref name="maxBatch"/> images; allocates everything a step needs.</summary>
    public CctModel(ComputeDevice device, CctConfig config, int maxBatch)
    {
        architecture = CctArchitecture.Of(config);
        if (maxBatch <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxBatch), "batch size must be positive");
        }

        ArgumentNullException.ThrowIfNull(device);
        this.device = device;
        this.config = config;
        maxBatchSize = maxBatch;
        // Every tensor starts on 4 floats (16 bytes), as TensorCoreGemm.Fits needs of a Linear's weight, bias and their
        // gradients. Packed back to back, the one-float classifier.attention_pool.bias put every block's tensors of
        // cct-2/3x2 and cct-7/3x1 one float off (qkv's weight at 80,961 and 53,249), so no block Linear ran on the tensor
        // cores; the gaps cost at most 3 floats a tensor and stay zero through AdamW.
        var parameterLayout = new TensorLayout(alignment: 4);
        foreach (var tensor in architecture.Parameters)
        {
            parameterLayout.Add(tensor.Name, tensor.Shape);
        }

        BufferLayout = new TensorLayout();
        foreach (var tensor in architecture.Buffers)
        {
            BufferLayout.Add(tensor.Name, tensor.Shape);
        }

        Parameters = new ParameterSet(device, parameterLayout);
        buffers = device.Allocate(BufferLayout.TotalLength);

        // Measure, allocate, then point the modules' activation records into the buffers (as llm.c's malloc_and_point).
        // Fused attention keeps a log-sum-exp per query row instead of the (B, H, T, T) probabilities (Attention.Fuses).
        var fusedAttention = Attention.For(device).Fuses(new AttentionShape(1, config.Tokens, config.Dim, config.Heads));
        FusesAttention = fusedAttention;
        var activationSize = TensorArena<float>.Measuring(maxBatch);
        var argmaxSize = TensorArena<int>.Measuring(maxBatch);
        var forwardScratchSize = TensorArena<float>.Measuring(maxBatch);
        ModelActivations.Create(activationSize, argmaxSize, forwardScratchSize, architecture, fusedAttention);
        activations = device.Allocate(activationSize.Length);
        argmax = device.Accelerator.Allocate1D<int>(Math.Max(1, argmaxSize.Length));
        gradientPlan = ModelGradients.Plan(architecture);
        phases = ModelGradients.Phases(architecture);
        // The forward scratch (a branch's output before its residual, a conv stage's pre-pool output) is dead by the time
        // backward writes its first gradient, so the two share one buffer: cct-2/3x2's device bytes at batch 128 went from
        // 154.9 to 127.3 MiB (56,448 values an image), cct-7/3x1's from 2,684.9 to 2,562.4 MiB (250,880).
        activationGradients = device.Allocate(Math.Max(gradientPlan.Length * maxBatch, forwardScratchSize.Length));
        var a = ModelActivations.Create(new TensorArena<float>(activations.View, maxBatch), new TensorArena<int>(argmax.View, maxBatch),
            new TensorArena<float>(activationGradients.View, maxBatch), architecture, fusedAttention);

        tokenizer = architecture.Tokenizer.Select((s, i) => new ConvStage(
            device,
            s,
            ParameterViews.Of(Parameters, s.Weight),
            s.Bias is { } bias ? ParameterViews.Of(Parameters, bias) : null,
            s.Norm is { } n ? new BatchNormParameters(ParameterViews.Of(Parameters, n.Weight), ParameterViews.Of(Parameters, n.Bias), Buffer(n.RunningMean.Name), Buffer(n.RunningVar.Name)) : null,
            a.Tokenizer[i])).ToList();
        var positional = architecture.Tokens;
        embedding = new TokenEmbedding(
            device,
            positional,
            positional.Kind == PositionalEmbeddingKind.Learnable ? ParameterViews.Of(Parameters, positional.Embedding!) : null,
            positional.Kind == PositionalEmbeddingKind.Sine ? Buffer(positional.Embedding!.Name) : null,
            a.Tokens);
        blocks = architecture.Blocks.Select((s, j) => s.Layout == BlockLayout.Official
            ? (TransformerBlock)new OfficialBlock(device, s, Parameters, a.Blocks[j], a.Scratch)
            : new PostNormBlock(device, s, Parameters, a.Blocks[j], a.Scratch)).ToList();
        head = new ClassifierHead(device, architecture.Head, Parameters, a.Head);
        if (device.Profile.StepValuesOnDevice)
        {
            stepValues = new DeviceStepValues(device);
        }

        if (device.Profile.ReplaysGraphs)
        {
            graphs = new GraphReplay(device);
        }

        buffers.MemSetToZero();
        activations.MemSetToZero();
        activationGradients.MemSetToZero();
    }

    /// <summary>The configuration the model was built from.</summary>
    /// <exception cref="ObjectDisposedException">the model or its device is disposed (so for every public member below)</exception>
    public CctConfig Config
    {
        get
        {
            ThrowIfDisposed();
            return config;
        }

        private set => config = value;
    }

    /// <summary>The largest batch a pass may take.</summary>
    public int MaxBatch
    {
        get
        {
            ThrowIfDisposed();
            return maxBatchSize;
        }
    }

    /// <summary>Parameters, their gradients and AdamW moments, in state_dict order.</summary>
    internal ParameterSet Parameters { get; }

    /// <summary>
    /// Device bytes the model holds: parameters, gradients, AdamW moments, buffers, activations and their
    /// gradients for <see cref="MaxBatch"/>. All are allocated here; a step allocates nothing.
    /// </summary>
    public long DeviceBytes
    {
        get
        {
            ThrowIfDisposed();
            return Parameters.DeviceBytes + buffers.LengthInBytes + activations.LengthInBytes + activationGradients.LengthInBytes + argmax.LengthInBytes + (stepValues?.DeviceBytes ?? 0)
                + (parameterAverage?.LengthInBytes ?? 0) + (bufferAverage?.LengthInBytes ?? 0) + (parameterBackup?.LengthInBytes ?? 0) + (bufferBackup?.LengthInBytes ?? 0);
        }
    }

    /// <summary>Non-trainable state saved with the model: BatchNorm running statistics, a fixed sine embedding.</summary>
    internal TensorLayout BufferLayout { get; }

    /// <summary>Seed of the counter RNG behind dropout and drop-path.</summary>
    public uint Seed
    {
        get
        {
            ThrowIfDisposed();
            return seed;
        }

        set
        {
            ThrowIfDisposed();
            seed = value;
        }
    }

    /// <summary>Training step; with <see cref="Seed"/> it fixes every dropout mask, so resumed runs repeat exactly.</summary>
    public uint Step
    {
        get
        {
            ThrowIfDisposed();
            return step;
        }

        set
        {
            ThrowIfDisposed();
            step = value;
        }
    }

    /// <summary>
    /// Fills parameters and buffers as the official code does, from <paramref name="seed"/>: one
    /// <see cref="SeededRandom"/> stream (seed, initialisation) in slot order, so every process draws the same weights.
    /// </summary>
    public void Initialize(int seed)
    {
        ThrowIfDisposed();
        var random = SeededRandom.For(seed, SeededRandom.InitializationStream, 0);
        // In state_dict order, the order of the layout's slots, so the draws fall as they always have.
        foreach (var spec in architecture.Parameters)
        {
            Parameters.WriteValue(spec.Name, InitialValues(spec, ref random));
        }

        foreach (var spec in architecture.Buffers)
        {
            WriteBuffer(spec.Name, InitialValues(spec, ref random));
        }
    }

    /// <summary>Copies buffer <paramref name="name"/> to the host.</summary>
    internal float[] ReadBuffer(string name)
    {
        var slot = BufferLayout[name];
        var data = new float[slot.Length];
        Buffer(name).CopyToCPU(data);
        return data;
    }

    /// <summary>Copies <paramref name="data"/> into buffer <paramref name="name"/>.</summary>
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
    /// every activation that <see cref="Backward(ArrayView{int}, float)"/> needs. The images view must stay valid until then.
    /// </summary>
    public ArrayView<float> Forward(ArrayView<float> input, int batchSize, bool train)
    {
        BeginPass(input, batchSize, train);
        if (train)
        {
            stepValues?.Write(new StepValues(Step, default));
            ForwardLaunches();
        }
        else
        {
            // An inference batch: replayed as a graph where the device replays them.
            Replay(GraphKey.Of("forward", input, default, pass, 0f, config), ForwardLaunches);
        }

        return PassLogits;
    }

    /// <summary>
    /// <see cref="Forward(ArrayView{float}, int, bool)"/>, then the cross-entropy (label smoothing
    /// <paramref name="labelSmoothing"/>) against labels (B) on the device: per-sample <see cref="Losses"/>, their mean
    /// (<see cref="ReadLoss"/>) and <see cref="Probabilities"/>. In training it also zeroes the gradients the loss writes and
    /// forms the logits' gradient in the same launch, so <see cref="Backward()"/> starts from it. Returns the logits.
    /// </summary>
    public ArrayView<float> Forward(ArrayView<float> input, ArrayView<int> labels, int batchSize, bool train, float labelSmoothing)
    {
        if (train)
        {
            var logits = Forward(input, batchSize, train);
            SeedLossGradient(labels, labelSmoothing);
            return logits;
        }

        // An inference batch with its loss: replayed as a graph where the device replays them.
        BeginPass(input, batchSize, train);
        Replay(GraphKey.Of("forward and loss", input, labels, pass, labelSmoothing, config), () =>
        {
            ForwardLaunches();
            head.ForwardLoss(labels, labelSmoothing, pass);
        });
        return PassLogits;
    }

    /// <summary>
    /// The backward pass of the last training <see cref="Forward(ArrayView{float}, ArrayView{int}, int, bool, float)"/>,
    /// from the loss it computed. Parameter gradients are accumulated into <see cref="ParameterSet.Gradients"/>; the
    /// caller zeroes them (one memset) when it starts a new accumulation.
    /// </summary>
    public void Backward()
    {
        ThrowIfDisposed();
        if (!lossGradientReady)
        {
            throw new InvalidOperationException("Backward() needs a training Forward with labels first");
        }

        BackwardFromLoss();
    }

    /// <summary>
    /// Cross-entropy (mean over the batch, with label smoothing) of the last forward against labels (B),
    /// then the whole backward pass. Parameter gradients are accumulated into <see cref="ParameterSet.Gradients"/>;
    /// the caller zeroes them (one memset) when it starts a new accumulation.
    /// </summary>
    public void Backward(ArrayView<int> labels, float labelSmoothing)
    {
        ThrowIfDisposed();
        if (pass.Batch == 0)
        {
            throw new InvalidOperationException("Backward needs a Forward first");
        }

        SeedLossGradient(labels, labelSmoothing);
        BackwardFromLoss();
    }

    /// <summary>
    /// One optimisation step on images (B, InChannels, ImageSize, ImageSize) and labels (B): forward in
    /// training mode with the loss, zero-grad (one memset), backward, then AdamW over the flat buffer as step
    /// <see cref="Step"/> + 1; <see cref="Step"/> then advances. Nothing here waits for the device.
    /// </summary>
    public void TrainStep(ArrayView<float> input, ArrayView<int> labels, int batchSize, float labelSmoothing, AdamWSettings settings)
    {
        BeginPass(input, batchSize, train: true);
        if (stepValues is null)
        {
            ForwardLaunches();
            SeedLossGradient(labels, labelSmoothing);
            device.Clear(Parameters.Gradients.View);
            BackwardFromLoss();
            AdamW.For(device).Step(Parameters.Values.View, Parameters.FirstMoment.View, Parameters.SecondMoment.View, Parameters.Gradients.View, settings, (int)Step + 1);
        }
        else
        {
            // The step's number and AdamW coefficients go to device memory first; the step itself is the same work every
            // time, so it may be a replayed graph (GraphReplay), which leaves the host state as the launches would.
            stepValues.Write(new StepValues(Step, AdamWCoefficients.Of(settings, (int)Step + 1)));
            Replay(GraphKey.Of("training step", input, labels, pass, labelSmoothing, config), () =>
            {
                ForwardLaunches();
                SeedLossGradient(labels, labelSmoothing);
                device.Clear(Parameters.Gradients.View);
                BackwardFromLoss();
                AdamW.For(device).Step(Parameters.Values.View, Parameters.FirstMoment.View, Parameters.SecondMoment.View, Parameters.Gradients.View, stepValues.Values);
            });
            lossGradientReady = false;
        }

        Step++;
    }

    /// <summary>CUDA graphs captured by this model so far (0 unless its device replays them).</summary>
    internal int GraphCaptures => graphs?.Captures ?? 0;

    /// <summary>CUDA graph launches by this model so far (0 unless its device replays them).</summary>
    internal int GraphReplays => graphs?.Replays ?? 0;

    /// <summary>
    /// Where the model looks: runs normalised images (N, InChannels, ImageSize, ImageSize), host values, in
    /// eval mode and returns per image its sequence-pooling weights and their attention rollout on the token
    /// grid, with its class probabilities (<see cref="AttentionMap"/>). Synchronises with the device.
    /// </summary>
    public IReadOnlyList<AttentionMap> AttentionMaps(ReadOnlySpan<float> images)
    {
        ThrowIfDisposed();
        return AttentionMapper.Compute(this, device, images);
    }

    /// <summary>Whether the blocks run attention fused (FlashAttention), keeping a log-sum-exp per row instead of the probabilities.</summary>
    internal bool FusesAttention { get; }

    /// <summary>Sequence-pooling weights (B, T) of the last forward (SeqPool models only).</summary>
    internal ArrayView<float> PoolingWeights => head.Activations.PoolingWeights ?? throw new InvalidOperationException("a mean-pooling model has no pooling weights");

    /// <summary>
    /// probabilities (batch, Heads, T, T) = block <paramref name="j"/>'s attention probabilities in the last forward, before
    /// dropout, recomputed from its saved qkv on <see cref="Attention"/>'s path (a fused model never stores them);
    /// mixed (batch, T, C) is scratch.
    /// </summary>
    internal void AttentionProbabilities(int j, int batch, ArrayView<float> probabilities, ArrayView<float> mixed)
        => Attention.For(device).Forward(mixed, new AttentionTensors(blocks[j].AttentionQkv, probabilities), new AttentionShape(batch, Config.Tokens, Config.Dim, Config.Heads), 0f, default);

    /// <summary>Per-sample losses (B) of the last forward with labels or <see cref="Backward(ArrayView{int}, float)"/>.</summary>
    public ArrayView<float> Losses
    {
        get
        {
            ThrowIfDisposed();
            return head.Activations.Losses;
        }
    }

    /// <summary>Softmax of the logits (B, Classes) of the last forward with labels or <see cref="Backward(ArrayView{int}, float)"/>.</summary>
    public ArrayView<float> Probabilities
    {
        get
        {
            ThrowIfDisposed();
            return head.Activations.Probabilities;
        }
    }

    /// <summary>The mean loss of the last forward with labels or <see cref="Backward(ArrayView{int}, float)"/> (synchronises with the device).</summary>
    public float ReadLoss()
    {
        ThrowIfDisposed();
        var loss = new float[1];
        head.Activations.Loss.CopyToCPU(loss);
        return loss[0];
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        Parameters.Dispose();
        buffers.Dispose();
        activations.Dispose();
        activationGradients.Dispose();
        argmax.Dispose();
        graphs?.Dispose();
        stepValues?.Dispose();
        DisposeAverage();
    }

    private ArrayView<float> PassLogits => head.Activations.Logits.SubView(0, (long)pass.Batch * Config.Classes);

    // The host state of a pass, set before its launches, which a replayed graph does not run.
    private void BeginPass(ArrayView<float> input, int batchSize, bool train)
    {
        ThrowIfDisposed();
        if (batchSize <= 0 || batchSize > MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch {batchSize} is outside 1..{MaxBatch}");
        }

        images = input;
        pass = new Pass(batchSize, train, Seed, Step, train && stepValues is not null ? stepValues.Step : default);
        lossGradientReady = false;
    }

    private void ForwardLaunches()
    {
        var x = images;
        foreach (var stage in tokenizer)
        {
            stage.Forward(x, pass);
            x = stage.Activations.Output;
        }

        embedding.Forward(x, pass);
        x = embedding.Output;
        foreach (var block in blocks)
        {
            block.Forward(x, pass);
            x = block.Output;
        }

        head.Forward(x, pass);
    }

    private void Replay(GraphKey key, Action launches)
    {
        if (graphs is null)
        {
            launches();
        }
        else
        {
            graphs.Run(key, launches);
        }
    }

    /// <summary>The activation gradients of a batch of <see cref="Pass.Batch"/> (laid out by liveness and scaled to the batch, see <see cref="ModelGradients"/>), pointed once per batch size.</summary>
    private ModelGradients Gradients
    {
        get
        {
            if (!gradientsByBatch.TryGetValue(pass.Batch, out var gradients))
            {
                gradients = ModelGradients.Create(gradientPlan, activationGradients.View, pass.Batch, architecture);
                gradientsByBatch.Add(pass.Batch, gradients);
            }

            return gradients;
        }
    }

    // Zeroes the gradients the loss phase writes first, then the loss with its gradient into the logits' gradient.
    private void SeedLossGradient(ArrayView<int> labels, float labelSmoothing)
    {
        var g = Gradients;
        ClearBornIn(g, BackwardPhases.Loss);
        head.ForwardLossAndGradient(g.Head, labels, labelSmoothing, pass);
        lossGradientReady = true;
    }

    private void BackwardFromLoss()
    {
        using var parameterSums = PartialSums.For(device).Defer();
        var g = Gradients;
        head.Backward(g.BlockOutputs[^1], g.Head, blocks[^1].Output, pass);
        for (var j = blocks.Count - 1; j >= 0; j--)
        {
            ClearBornIn(g, phases.Block(j));
            var (input, inputGradient) = j == 0 ? (embedding.Output, g.Tokens) : (blocks[j - 1].Output, g.BlockOutputs[j - 1]);
            blocks[j].Backward(inputGradient, g.BlockOutputs[j], g.Blocks[j], input, pass);
        }

        ClearBornIn(g, phases.Tokens);
        embedding.Backward(g.Tokenizer[^1].Output, g.Tokens, pass);
        for (var i = tokenizer.Count - 1; i >= 0; i--)
        {
            ClearBornIn(g, phases.Stage(i));
            var (input, inputGradient) = i == 0 ? (images, (ArrayView<float>?)null) : (tokenizer[i - 1].Activations.Output, g.Tokenizer[i - 1].Output);
            tokenizer[i].Backward(inputGradient, g.Tokenizer[i], input, pass);
        }

        lossGradientReady = false;
    }

    // Backward accumulates: a phase zeroes the gradients it writes first, which may hold an earlier phase's sums.
    private void ClearBornIn(ModelGradients g, int phase)
    {
        foreach (var view in g.BornIn[phase])
        {
            device.Clear(view);
        }
    }

    /// <summary>
    /// Throws <see cref="ObjectDisposedException"/> for a disposed model, or one whose device is disposed (naming the
    /// device): launching on freed buffers would fail on an ILGPU worker thread, where no caller can catch it.
    /// </summary>
    private void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(disposed, this);

        // The device's public members throw ObjectDisposedException naming it once it is disposed.
        _ = device.Accelerator;
    }

    private ArrayView<float> Buffer(string name)
    {
        var slot = BufferLayout[name];
        return buffers.View.SubView(slot.Offset, slot.Length);
    }

    // The spec's rule (TensorInit); only the normal rules draw from the stream.
    private float[] InitialValues(TensorSpec spec, ref SeededRandom random)
    {
        var values = new float[spec.Length];
        switch (spec.Init)
        {
            case TensorInit.KaimingNormal:
                var fanIn = spec.Shape[1] * spec.Shape[2] * spec.Shape[3];
                FillNormal(values, ref random, Math.Sqrt(2.0 / fanIn), double.PositiveInfinity);
                break;
            case TensorInit.TruncatedNormal:
                FillNormal(values, ref random, 0.02, 2.0);
                break;
            case TensorInit.PositionalNormal:
                FillNormal(values, ref random, 0.2, 2.0);
                break;
            case TensorInit.Ones:
                Array.Fill(values, 1f);
                break;
            case TensorInit.SineEmbedding:
                return Layers.Tokens.SineEmbedding(Config.Tokens, Config.Dim);
            case TensorInit.Zeros:
                break;
            default:
                throw new InvalidOperationException($"tensor '{spec.Name}' has no initialisation rule {spec.Init}");
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
}
