using System.Text.Json;
using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.IO;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Training;

namespace Cct.Training.Checkpoints;

/// <summary>A checkpoint that cannot be used: truncated, malformed, or not a Cct checkpoint.</summary>
public sealed class CheckpointException : Exception
{
    public CheckpointException(string message)
        : base(message)
    {
    }

    public CheckpointException()
    {
    }

    public CheckpointException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A safetensors checkpoint: parameters and buffers under their PyTorch state_dict names (so
/// `safetensors.torch.load_file` + `load_state_dict` reads it), AdamW moments as
/// "optimizer.exp_avg.NAME" / "optimizer.exp_avg_sq.NAME", and the model config, training options and
/// training state as JSON strings in the metadata.
/// </summary>
public sealed class Checkpoint
{
    public const string Format = "cct-checkpoint/1";
    private const string FirstMomentPrefix = "optimizer.exp_avg.";
    private const string SecondMomentPrefix = "optimizer.exp_avg_sq.";

    private readonly SafeTensorsFile file;

    private Checkpoint(SafeTensorsFile file, CctConfig config, TrainOptions options, TrainingState state)
    {
        this.file = file;
        Config = config;
        Options = options;
        State = state;
    }

    public CctConfig Config { get; }

    public TrainOptions Options { get; }

    public TrainingState State { get; }

    /// <summary>Writes atomically (temporary file, fsync, rename): an interrupted save leaves the previous file intact.</summary>
    public static void Save(string path, CctModel model, TrainOptions options, TrainingState state)
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

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = Format,
            ["config"] = model.Config.ToJson(),
            ["training"] = options.ToJson(),
            ["state"] = state.ToJson(),
        };
        new SafeTensorsFile(tensors, metadata).Write(path);
    }

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

        try
        {
            var config = CctConfig.FromJson(file.Metadata["config"]);
            config.Validate();
            return new Checkpoint(file, config, TrainOptions.FromJson(file.Metadata["training"]), TrainingState.FromJson(file.Metadata["state"]));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or ArgumentException or NotSupportedException)
        {
            throw new CheckpointException($"{path}: malformed checkpoint metadata ({e.Message})", e);
        }
    }

    /// <summary>Copies parameters, buffers and (optionally) optimizer moments into a model built from <see cref="Config"/>.</summary>
    public void Restore(CctModel model, bool optimizer)
    {
        var p = model.Parameters;
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

    private static float[] Read(MemoryBuffer1D<float, Stride1D.Dense> buffer)
    {
        var data = new float[buffer.Length];
        buffer.View.CopyToCPU(data);
        return data;
    }
}
