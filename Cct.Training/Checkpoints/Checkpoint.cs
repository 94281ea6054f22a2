using System.Text.Json;
using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.IO;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Data;
using Cct.Training.Reports;
using Cct.Training.Training;

namespace Cct.Training.Checkpoints;

/// <summary>
/// A safetensors checkpoint: parameters and buffers under their PyTorch state_dict names (so
/// `safetensors.torch.load_file` + `load_state_dict` reads it), AdamW moments as
/// "optimizer.exp_avg.NAME" / "optimizer.exp_avg_sq.NAME", the weight average of a run with <see cref="TrainOptions.Ema"/>
/// as "optimizer.ema.NAME" for every parameter and buffer (under the optimizer's prefix, so loaders of the weights skip
/// it as they skip the moments), and the model config, training options and
/// training state as JSON strings in the metadata, with the dataset's name. A <see cref="RunFolder"/> writes them;
/// <see cref="CctModel.Load"/> reads their model.
/// </summary>
public sealed class Checkpoint
{
    internal const string Format = "cct-checkpoint/1";
    private const string FirstMomentPrefix = "optimizer.exp_avg.";
    private const string SecondMomentPrefix = "optimizer.exp_avg_sq.";
    private const string AveragePrefix = "optimizer.ema.";

    private readonly SafeTensorsFile file;

    private Checkpoint(SafeTensorsFile file, CctConfig config, TrainOptions options, TrainingState state, DatasetSpec dataset)
    {
        this.file = file;
        Config = config;
        Options = options;
        State = state;
        Dataset = dataset;
    }

    /// <summary>The model's configuration, input normalisation included.</summary>
    public CctConfig Config { get; }

    /// <summary>The recipe the run was trained with.</summary>
    public TrainOptions Options { get; }

    /// <summary>Where the run stood when this was saved: the state to resume from.</summary>
    public TrainingState State { get; }

    /// <summary>The dataset the model was trained on.</summary>
    public DatasetSpec Dataset { get; }

    /// <summary>Whether the checkpoint holds a weight average (a run with <see cref="TrainOptions.Ema"/>).</summary>
    public bool HasWeightAverage => file.Tensors.Keys.Any(k => k.StartsWith(AveragePrefix, StringComparison.Ordinal));

    /// <summary>
    /// Copies the weight average into <paramref name="model"/>'s parameters and buffers, for evaluation (what the run's
    /// evaluations scored); <see cref="Restore"/> first so that everything else is the checkpoint's.
    /// </summary>
    /// <exception cref="CheckpointException">the checkpoint holds no weight average, or its tensors differ from the model's</exception>
    public void RestoreWeightAverage(CctModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!HasWeightAverage)
        {
            throw new CheckpointException("checkpoint holds no weight average (it was trained without --ema)");
        }

        var p = model.Parameters;
        foreach (var slot in p.Layout.Slots.Concat(model.BufferLayout.Slots))
        {
            _ = Tensor(AveragePrefix + slot.Name, slot);
        }

        foreach (var slot in p.Layout.Slots)
        {
            p.WriteValue(slot.Name, Tensor(AveragePrefix + slot.Name, slot));
        }

        foreach (var slot in model.BufferLayout.Slots)
        {
            model.WriteBuffer(slot.Name, Tensor(AveragePrefix + slot.Name, slot));
        }
    }

    /// <summary>
    /// Writes atomically (<see cref="AtomicFile"/>: temporary file, fsync, rename, fsync of the folder): a save
    /// killed at any moment leaves the previous file intact. <paramref name="beforeRename"/> is a test fault hook.
    /// </summary>
    internal static void Save(string path, CctModel model, TrainOptions options, TrainingState state, DatasetSpec dataset, Action? beforeRename = null)
    {
        var p = model.Parameters;
        var tensors = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        var moments = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        var first = Read(p.FirstMoment);
        var second = Read(p.SecondMoment);
        foreach (var slot in p.Layout.Slots)
        {
            tensors[slot.Name] = SafeTensor.FromFloats(p.ReadValue(slot.Name), slot.Shape);
            moments[FirstMomentPrefix + slot.Name] = SafeTensor.FromFloats(first.AsSpan((int)slot.Offset, (int)slot.Length).ToArray(), slot.Shape);
            moments[SecondMomentPrefix + slot.Name] = SafeTensor.FromFloats(second.AsSpan((int)slot.Offset, (int)slot.Length).ToArray(), slot.Shape);
        }

        foreach (var slot in model.BufferLayout.Slots)
        {
            tensors[slot.Name] = SafeTensor.FromFloats(model.ReadBuffer(slot.Name), slot.Shape);
        }

        foreach (var (name, tensor) in moments)
        {
            tensors[name] = tensor;
        }

        if (options.Ema > 0 && model.HasWeightAverage)
        {
            var parameters = ReadView(model.ParameterAverage);
            var buffers = ReadView(model.BufferAverage);
            foreach (var slot in p.Layout.Slots)
            {
                tensors[AveragePrefix + slot.Name] = SafeTensor.FromFloats(parameters.AsSpan((int)slot.Offset, (int)slot.Length).ToArray(), slot.Shape);
            }

            foreach (var slot in model.BufferLayout.Slots)
            {
                tensors[AveragePrefix + slot.Name] = SafeTensor.FromFloats(buffers.AsSpan((int)slot.Offset, (int)slot.Length).ToArray(), slot.Shape);
            }
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = Format,
            ["config"] = model.Config.ToJson(),
            ["training"] = options.ToJson(),
            ["state"] = state.ToJson(),
            ["dataset"] = dataset.Name,
        };
        AtomicFile.WriteAllBytes(path, new SafeTensorsFile(tensors, metadata).ToBytes(), beforeRename);
    }

    /// <summary>
    /// Reads and checks everything that needs no model: the safetensors structure, the metadata (config, options
    /// and state, each validated), F32 and finite tensors, both AdamW moments beside every parameter, and as many
    /// parameters as the config describes. <see cref="Restore"/> checks names and shapes against the model.
    /// </summary>
    /// <exception cref="CheckpointException">the file is missing, or not a usable checkpoint (one line naming the problem)</exception>
    public static Checkpoint Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new CheckpointException($"{path}: no such checkpoint");
        }

        SafeTensorsFile file;
        try
        {
            file = SafeTensorsFile.Read(path);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointException(e.Message, e);
        }

        if (!file.Metadata.TryGetValue("format", out var format) || format != Format)
        {
            throw new CheckpointException($"{path}: not a Cct checkpoint (metadata format is '{format ?? "missing"}', expected {Format})");
        }

        CctConfig config;
        TrainOptions options;
        TrainingState state;
        DatasetSpec spec;
        try
        {
            config = CctConfig.FromJson(file.Metadata["config"]);
            config.Validate();
            options = TrainOptions.FromJson(file.Metadata["training"]);
            options.Validate();
            state = TrainingState.FromJson(file.Metadata["state"]);
            state.Validate();
            spec = DatasetSpec.Parse(file.Metadata["dataset"]);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or ArgumentException or NotSupportedException or OverflowException or DatasetException)
        {
            throw new CheckpointException($"{path}: malformed checkpoint metadata ({OneLine(e.Message)})", e);
        }

        if (config.ImageSize != DatasetSpec.ImageRows || config.InChannels != 1 || config.Classes != spec.ClassCount)
        {
            throw new CheckpointException($"{path}: its model takes {config.InChannels}x{config.ImageSize}x{config.ImageSize} images in {config.Classes} classes; {spec.Name} has 1x28x28 in {spec.ClassCount}");
        }

        CheckTensors(path, file, config);
        return new Checkpoint(file, config, options, state, spec);
    }

    /// <summary>
    /// The dataset whose classes a model file predicts: the one a checkpoint of <c>cct train</c> records, and
    /// FashionMNIST for the other files <see cref="CctModel.Load"/> reads (<see cref="CctModel.Save"/>'s, the seed notebook's).
    /// </summary>
    /// <exception cref="FileNotFoundException">there is no file at <paramref name="path"/></exception>
    /// <exception cref="InvalidDataException">the file is not safetensors</exception>
    /// <exception cref="DatasetException">the file names a dataset Cct does not know</exception>
    public static DatasetSpec DatasetOf(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file", path);
        }

        return SafeTensorsFile.Read(path).Metadata.TryGetValue("dataset", out var name) ? DatasetSpec.Parse(name) : DatasetSpec.FashionMnist;
    }

    /// <summary>
    /// Copies parameters, buffers and (optionally) optimizer moments into a model built from <see cref="Config"/>;
    /// a missing, misshapen or unexpected tensor is a <see cref="CheckpointException"/> before anything is copied.
    /// With <paramref name="optimizer"/> the AdamW moments are copied too, and the weight average when the checkpoint holds
    /// one, so training continues where it stopped.
    /// </summary>
    /// <exception cref="CheckpointException">the model's tensors differ from the checkpoint's</exception>
    public void Restore(CctModel model, bool optimizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        var p = model.Parameters;
        var expected = p.Layout.Slots.Concat(model.BufferLayout.Slots).Select(s => s.Name)
            .Concat(p.Layout.Slots.SelectMany(s => new[] { FirstMomentPrefix + s.Name, SecondMomentPrefix + s.Name }))
            .Concat(p.Layout.Slots.Concat(model.BufferLayout.Slots).Select(s => AveragePrefix + s.Name))
            .ToHashSet(StringComparer.Ordinal);
        if (file.Tensors.Keys.FirstOrDefault(name => !expected.Contains(name)) is { } extra)
        {
            throw new CheckpointException($"checkpoint holds tensor '{extra}', which this model does not have");
        }

        var average = optimizer && HasWeightAverage;
        foreach (var slot in p.Layout.Slots.Concat(model.BufferLayout.Slots))
        {
            _ = Tensor(slot.Name, slot);
            if (average)
            {
                _ = Tensor(AveragePrefix + slot.Name, slot);
            }
        }

        foreach (var slot in p.Layout.Slots)
        {
            p.WriteValue(slot.Name, Tensor(slot.Name, slot));
            if (optimizer)
            {
                p.FirstMoment.View.SubView(slot.Offset, slot.Length).CopyFromCPU(Tensor(FirstMomentPrefix + slot.Name, slot));
                p.SecondMoment.View.SubView(slot.Offset, slot.Length).CopyFromCPU(Tensor(SecondMomentPrefix + slot.Name, slot));
            }
        }

        foreach (var slot in model.BufferLayout.Slots)
        {
            model.WriteBuffer(slot.Name, Tensor(slot.Name, slot));
        }

        if (average)
        {
            var parameters = model.ParameterAverage;
            var buffers = model.BufferAverage;
            foreach (var slot in p.Layout.Slots)
            {
                parameters.SubView(slot.Offset, slot.Length).CopyFromCPU(Tensor(AveragePrefix + slot.Name, slot));
            }

            foreach (var slot in model.BufferLayout.Slots)
            {
                buffers.SubView(slot.Offset, slot.Length).CopyFromCPU(Tensor(AveragePrefix + slot.Name, slot));
            }
        }
    }

    private float[] Tensor(string name, TensorSlot slot)
    {
        if (!file.Tensors.TryGetValue(name, out var tensor))
        {
            throw new CheckpointException($"checkpoint lacks tensor '{name}'");
        }

        if (tensor.DType != "F32" || !tensor.Shape.SequenceEqual(slot.Shape))
        {
            throw new CheckpointException($"checkpoint tensor '{name}' is {tensor.DType} ({string.Join(", ", tensor.Shape)}), expected F32 {slot.ShapeText}");
        }

        return tensor.ToFloats();
    }

    private static void CheckTensors(string path, SafeTensorsFile file, CctConfig config)
    {
        foreach (var (name, tensor) in file.Tensors)
        {
            if (tensor.DType != "F32")
            {
                throw new CheckpointException($"{path}: tensor '{name}' is {tensor.DType}, expected F32");
            }

            if (tensor.ToFloats().Any(v => !float.IsFinite(v)))
            {
                throw new CheckpointException($"{path}: tensor '{name}' holds NaN or infinite values");
            }
        }

        // Every parameter has both moments; counting them bounds what the config may allocate by the file's size.
        long parameters = 0;
        foreach (var (name, tensor) in file.Tensors)
        {
            if (!name.StartsWith(FirstMomentPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var parameter = name[FirstMomentPrefix.Length..];
            foreach (var partner in new[] { parameter, SecondMomentPrefix + parameter })
            {
                if (!file.Tensors.TryGetValue(partner, out var other) || !other.Shape.SequenceEqual(tensor.Shape))
                {
                    throw new CheckpointException($"{path}: tensor '{partner}' is missing or differs in shape from '{name}'");
                }
            }

            parameters += tensor.ElementCount;
        }

        long described;
        try
        {
            described = ModelSummary.Rows(config).Sum(r => r.Parameters);
        }
        catch (OverflowException)
        {
            described = -1;
        }

        if (described != parameters)
        {
            throw new CheckpointException($"{path}: its config describes {described:N0} parameters but it holds {parameters:N0}");
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");

    private static float[] ReadView(ArrayView<float> view)
    {
        var data = new float[view.Length];
        view.CopyToCPU(data);
        return data;
    }

    private static float[] Read(MemoryBuffer1D<float, Stride1D.Dense> buffer)
    {
        var data = new float[buffer.Length];
        buffer.View.CopyToCPU(data);
        return data;
    }
}
