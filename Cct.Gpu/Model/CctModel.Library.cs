using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Cct.Gpu.IO;
using Cct.Gpu.Layers;
using Cct.Gpu.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Gpu.Model;

/// <summary>The host-array surface: create, save, load, predict and train from ordinary arrays.</summary>
public sealed partial class CctModel
{
    /// <summary>
    /// The batch size a model created without one holds activations for; larger inputs run in chunks of it. It is also
    /// the default training batch (<c>TrainOptions.BatchSize</c>), so a default model trains with default options; a
    /// larger training batch needs a model created with that <c>maxBatch</c>.
    /// </summary>
    public const int DefaultMaxBatch = 64;

    /// <summary>The metadata format <see cref="Save"/> writes.</summary>
    internal const string ModelFormat = "cct-model/1";

    /// <summary>The metadata format of the CLI's training checkpoints, which <see cref="Load"/> also reads.</summary>
    internal const string CheckpointFormat = "cct-checkpoint/1";

    /// <summary>The metadata format <c>tools/notebook_to_safetensors.py</c> writes for the seed notebook's state_dict.</summary>
    internal const string NotebookFormat = "seed-notebook";

    /// <summary>
    /// A model with fresh weights drawn from <paramref name="seed"/> as the official code initialises them (the
    /// same weights in every process), holding activations for batches of up to <paramref name="maxBatch"/> images.
    /// </summary>
    /// <exception cref="ArgumentException">the config is inconsistent (the message names the field) or maxBatch is not positive</exception>
    /// <exception cref="ObjectDisposedException">the device is disposed</exception>
    public static CctModel Create(ComputeDevice device, CctConfig config, int seed = 0, int maxBatch = DefaultMaxBatch)
    {
        var model = new CctModel(device, config, maxBatch) { Seed = (uint)seed };
        model.Initialize(seed);
        return model;
    }

    /// <summary>
    /// Reads a model saved by <see cref="Save"/> or a checkpoint written by <c>cct train</c> (its optimizer state is
    /// ignored): the config from the file's metadata, parameters and buffers by their state_dict names.
    /// </summary>
    /// <exception cref="FileNotFoundException">there is no file at <paramref name="path"/></exception>
    /// <exception cref="InvalidDataException">the file is not such a model, or a tensor is missing, misshapen, not F32 or not finite (one line naming it)</exception>
    /// <remarks>
    /// It also reads the seed notebook's state_dict saved as safetensors under the notebook's module names, as
    /// <c>tools/notebook_to_safetensors.py</c> converts a <c>.pth</c> (metadata format <c>seed-notebook</c>) or with no
    /// metadata at all: that gives a <see cref="CctPresets.Seed"/> model.
    /// </remarks>
    public static CctModel Load(ComputeDevice device, string path, int maxBatch = DefaultMaxBatch)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file", path);
        }

        var file = SafeTensorsFile.Read(path);
        var format = file.Metadata.GetValueOrDefault("format");
        if (format == NotebookFormat || (format is null && NotebookStateDict.IsNotebookLayout(file.Tensors.Keys)))
        {
            return LoadNotebook(device, path, file, maxBatch);
        }

        if (format is not (ModelFormat or CheckpointFormat))
        {
            throw new InvalidDataException($"{path}: not a Cct model (metadata format is '{format ?? "missing"}', expected {ModelFormat}, {CheckpointFormat} or {NotebookFormat})");
        }

        CctConfig config;
        try
        {
            config = CctConfig.FromJson(file.Metadata.GetValueOrDefault("config") ?? throw new InvalidDataException("no config in the metadata"));
            config.Validate();
        }
        catch (Exception e) when (e is JsonException or ArgumentException or NotSupportedException or InvalidDataException)
        {
            throw new InvalidDataException($"{path}: malformed model config ({e.Message.ReplaceLineEndings(" ")})", e);
        }

        var model = new CctModel(device, config, maxBatch);
        try
        {
            model.LoadTensors(path, file.Tensors, ignoredPrefix: format == CheckpointFormat ? "optimizer." : null);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static CctModel LoadNotebook(ComputeDevice device, string path, SafeTensorsFile file, int maxBatch)
    {
        var tensors = NotebookStateDict.ToCct(file.Tensors, path);
        var model = new CctModel(device, CctPresets.Seed, maxBatch);
        try
        {
            model.LoadTensors(path, tensors, ignoredPrefix: null);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes parameters and buffers under their PyTorch state_dict names (so <c>safetensors.torch.load_file</c> and
    /// <c>load_state_dict</c> read them) with the config in the metadata. The write is atomic: a temporary file is
    /// flushed to disk and renamed over <paramref name="path"/>, so an interrupted save leaves the old file whole.
    /// </summary>
    public void Save(string path)
    {
        ThrowIfDisposed();
        var tensors = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (var slot in Parameters.Layout.Slots)
        {
            tensors[slot.Name] = SafeTensor.FromFloats(Parameters.ReadValue(slot.Name), slot.Shape);
        }

        foreach (var slot in BufferLayout.Slots)
        {
            tensors[slot.Name] = SafeTensor.FromFloats(ReadBuffer(slot.Name), slot.Shape);
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = ModelFormat, ["config"] = Config.ToJson() };
        new SafeTensorsFile(tensors, metadata).Write(path);
    }

    /// <summary>Trainable parameters (280,651 for CCT-2/3x2 on 28×28×1).</summary>
    public long ParameterCount
    {
        get
        {
            ThrowIfDisposed();
            return Parameters.Count;
        }
    }

    /// <summary>
    /// The mean and standard deviation pixels scaled to [0, 1] are normalised with before the model sees them:
    /// <see cref="CctConfig.InputMean"/> and <see cref="CctConfig.InputStd"/>, or FashionMNIST's statistics where unset.
    /// </summary>
    public (float Mean, float Std) InputNormalization
    {
        get
        {
            ThrowIfDisposed();
            return (config.InputMean ?? CctConfig.FashionMnistMean, config.InputStd ?? CctConfig.FashionMnistStd);
        }
    }

    /// <summary>The layer table of the model <paramref name="config"/> describes: each layer's output shape and parameter count.</summary>
    /// <exception cref="ArgumentException">the config is inconsistent</exception>
    public static IReadOnlyList<SummaryRow> Summary(CctConfig config) => ModelSummary.Rows(config);

    /// <summary>
    /// Classifies images given as pixels 0–255, (N, InChannels, ImageSize, ImageSize) row-major as FashionMNIST stores
    /// them, normalised with <see cref="InputNormalization"/>. Eval mode.
    /// </summary>
    /// <exception cref="ArgumentException">the length is not a whole, positive number of images</exception>
    public Prediction[] Predict(ReadOnlySpan<byte> pixels) => Classify(Logits(Normalize(pixels, nameof(pixels))));

    /// <summary>Classifies images given as pixels scaled to [0, 1], (N, InChannels, ImageSize, ImageSize); see <see cref="Predict(ReadOnlySpan{byte})"/>.</summary>
    /// <exception cref="ArgumentException">the length is not a whole, positive number of images</exception>
    public Prediction[] Predict(ReadOnlySpan<float> pixels) => Classify(Logits(Normalize(pixels, nameof(pixels))));

    /// <summary>
    /// <see cref="AttentionMaps(ReadOnlySpan{float})"/> of images given as pixels 0–255, (N, InChannels, ImageSize,
    /// ImageSize) as <see cref="Predict(ReadOnlySpan{byte})"/> takes them, normalised with <see cref="InputNormalization"/>.
    /// </summary>
    /// <exception cref="ArgumentException">the length is not a whole, positive number of images</exception>
    public IReadOnlyList<AttentionMap> AttentionMaps(ReadOnlySpan<byte> pixels) => AttentionMaps(Normalize(pixels, nameof(pixels)));

    /// <summary>
    /// Logits (N, Classes) of normalised images (N, InChannels, ImageSize, ImageSize) in eval mode, as a PyTorch
    /// model's <c>model.eval()(x)</c>; a new array the next call does not touch. Runs in chunks of <see cref="MaxBatch"/>.
    /// </summary>
    /// <exception cref="ArgumentException">the length is not a whole, positive number of images</exception>
    public float[] Logits(ReadOnlySpan<float> normalizedImages)
    {
        ThrowIfDisposed();
        var pixels = ImageLength;
        var count = ImageCount(normalizedImages.Length, nameof(normalizedImages));
        var logits = new float[count * config.Classes];
        using var input = device.Allocate((long)Math.Min(count, maxBatchSize) * pixels); // (B, C, S, S)
        for (var start = 0; start < count; start += maxBatchSize)
        {
            var size = Math.Min(maxBatchSize, count - start);
            ((ArrayView<float>)input.View).SubView(0, (long)size * pixels).CopyFromCPU(normalizedImages.Slice(start * pixels, size * pixels));
            Forward(input.View, size, train: false).CopyToCPU(logits.AsSpan(start * config.Classes, size * config.Classes));
        }

        return logits;
    }

    /// <summary>
    /// One training step on host arrays: forward in training mode on normalised images (B, InChannels, ImageSize,
    /// ImageSize) with labels (B), cross-entropy with <paramref name="labelSmoothing"/>, backward and AdamW as step
    /// <see cref="Step"/> + 1. Returns the batch's mean loss (which waits for the device).
    /// </summary>
    /// <exception cref="ArgumentException">the batch is empty, larger than <see cref="MaxBatch"/>, or images and labels disagree</exception>
    [SuppressMessage("ApiDesign", "RS0027:API with optional parameter(s) should have the most parameters amongst its public overloads", Justification = "Shipped in 0.1.0 beside the device-path overload; reordering would break callers.")]
    public float TrainStep(ReadOnlySpan<float> normalizedImages, ReadOnlySpan<int> labels, AdamWSettings settings, float labelSmoothing = 0f)
    {
        ThrowIfDisposed();
        var count = ImageCount(normalizedImages.Length, nameof(normalizedImages));
        if (count != labels.Length || count > MaxBatch)
        {
            throw new ArgumentException($"{count} images with {labels.Length} labels; a step takes as many labels as images, at most MaxBatch = {MaxBatch}", nameof(labels));
        }

        foreach (var label in labels)
        {
            if ((uint)label >= (uint)Config.Classes)
            {
                throw new ArgumentException($"label {label} is outside 0..{Config.Classes - 1}", nameof(labels));
            }
        }

        using var input = device.Allocate(normalizedImages.Length); // (B, C, S, S)
        using var targets = device.Accelerator.Allocate1D<int>(count); // (B)
        ((ArrayView<float>)input.View).CopyFromCPU(normalizedImages);
        ((ArrayView<int>)targets.View).CopyFromCPU(labels);
        TrainStep(input.View, targets.View, count, labelSmoothing, settings);
        return ReadLoss();
    }

    /// <summary>The device the model's memory lives on.</summary>
    internal ComputeDevice Device => device;

    /// <summary>Fills an unset <see cref="CctConfig.InputMean"/>/<see cref="CctConfig.InputStd"/> with the training data's statistics, so a saved model carries them.</summary>
    internal void ResolveInputNormalization(float mean, float std)
        => Config = Config with { InputMean = Config.InputMean ?? mean, InputStd = Config.InputStd ?? std };

    private int ImageLength => config.InChannels * config.ImageSize * config.ImageSize;

    /// <summary>Pixels 0–255 as the model's input: (p / 255 − mean) / std, the one place this is computed on the host.</summary>
    private float[] Normalize(ReadOnlySpan<byte> pixels, string parameter)
    {
        ThrowIfDisposed();
        _ = ImageCount(pixels.Length, parameter);
        var scaled = new float[pixels.Length];
        for (var i = 0; i < scaled.Length; i++)
        {
            scaled[i] = pixels[i] / 255f;
        }

        return Normalize(scaled, parameter);
    }

    /// <summary>Pixels scaled to [0, 1] as the model's input: (p − mean) / std.</summary>
    private float[] Normalize(ReadOnlySpan<float> pixels, string parameter)
    {
        ThrowIfDisposed();
        _ = ImageCount(pixels.Length, parameter);
        var (mean, std) = InputNormalization;
        var normalized = new float[pixels.Length];
        for (var i = 0; i < normalized.Length; i++)
        {
            normalized[i] = (pixels[i] - mean) / std;
        }

        return normalized;
    }

    private Prediction[] Classify(float[] logits)
    {
        var classes = config.Classes;
        var predictions = new Prediction[logits.Length / classes];
        for (var n = 0; n < predictions.Length; n++)
        {
            var probabilities = Softmax(logits.AsSpan(n * classes, classes));
            predictions[n] = new Prediction(Array.IndexOf(probabilities, probabilities.Max()), probabilities);
        }

        return predictions;
    }

    private int ImageCount(int length, string parameter)
    {
        var pixels = ImageLength;
        if (length == 0 || length % pixels != 0)
        {
            throw new ArgumentException($"{length} values are not a whole number of {Config.InChannels}×{Config.ImageSize}×{Config.ImageSize} images", parameter);
        }

        return length / pixels;
    }

    /// <summary>Copies named tensors into parameters and buffers after checking all of them; nothing is written on error.</summary>
    private void LoadTensors(string source, IReadOnlyDictionary<string, SafeTensor> tensors, string? ignoredPrefix)
    {
        var slots = Parameters.Layout.Slots.Select(s => (Slot: s, Parameter: true)).Concat(BufferLayout.Slots.Select(s => (Slot: s, Parameter: false))).ToList();
        var expected = slots.Select(s => s.Slot.Name).ToHashSet(StringComparer.Ordinal);
        if (tensors.Keys.FirstOrDefault(name => !expected.Contains(name) && (ignoredPrefix is null || !name.StartsWith(ignoredPrefix, StringComparison.Ordinal))) is { } extra)
        {
            throw new InvalidDataException($"{source}: holds tensor '{extra}', which this model does not have");
        }

        var values = new List<(TensorSlot Slot, bool Parameter, float[] Data)>(slots.Count);
        foreach (var (slot, parameter) in slots)
        {
            if (!tensors.TryGetValue(slot.Name, out var tensor))
            {
                throw new InvalidDataException($"{source}: lacks tensor '{slot.Name}'");
            }

            if (tensor.DType != "F32" || !tensor.Shape.SequenceEqual(slot.Shape))
            {
                throw new InvalidDataException($"{source}: tensor '{slot.Name}' is {tensor.DType} ({string.Join(", ", tensor.Shape)}), expected F32 {slot.ShapeText}");
            }

            var data = tensor.ToFloats();
            if (data.Any(v => !float.IsFinite(v)))
            {
                throw new InvalidDataException($"{source}: tensor '{slot.Name}' holds NaN or infinite values");
            }

            values.Add((slot, parameter, data));
        }

        foreach (var (slot, parameter, data) in values)
        {
            if (parameter)
            {
                Parameters.WriteValue(slot.Name, data);
            }
            else
            {
                WriteBuffer(slot.Name, data);
            }
        }
    }

    /// <summary>Class probabilities of one row of logits, summed in double (host side: predictions and attention maps).</summary>
    internal static float[] Softmax(ReadOnlySpan<float> logits)
    {
        var max = float.NegativeInfinity;
        foreach (var l in logits)
        {
            max = Math.Max(max, l);
        }

        var result = new float[logits.Length];
        double sum = 0;
        for (var k = 0; k < logits.Length; k++)
        {
            sum += Math.Exp(logits[k] - max);
        }

        for (var k = 0; k < logits.Length; k++)
        {
            result[k] = (float)(Math.Exp(logits[k] - max) / sum);
        }

        return result;
    }
}
