using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Cct.Gpu.IO;
using Cct.Gpu.Model;
using Cct.Tests.Support;
using Cct.Training.Checkpoints;
using Cct.Training.Data;
using Cct.Training.Training;
using SkiaSharp;

namespace Cct.Tests.Training;

/// <summary>
/// Malformed inputs, generated from one valid example of each kind and run in-process through Program.Main:
/// IDX data folders (raw and gzipped) through `cct train --data`, safetensors checkpoints and their config
/// metadata through `cct train --resume`, PNGs through `cct predict`. Every case must end with a non-zero exit
/// and exactly one "cct: error:" line, no stack trace, and no run folder.
/// </summary>
[Category("Cli")]
public sealed class MalformedInputTests
{
    private const int TrainImages = 24;
    private const int TestImages = 8;
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "cct-malformed-" + Guid.NewGuid().ToString("N"));
    private static readonly string ValidData = Path.Combine(Root, "data");
    private static readonly string ValidCheckpoint = Path.Combine(Root, "valid.safetensors");

    private static readonly Dictionary<string, byte[]> ValidFiles = new(StringComparer.Ordinal);

    [OneTimeSetUp]
    public void WriteValidInputs()
    {
        Directory.CreateDirectory(ValidData);
        var random = new Random(5);
        foreach (var (prefix, count) in new[] { ("train", TrainImages), ("t10k", TestImages) })
        {
            var pixels = new byte[count * 28 * 28];
            random.NextBytes(pixels);
            var labels = Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray();
            IdxFile.WriteImages(Path.Combine(ValidData, $"{prefix}-images-idx3-ubyte"), pixels, count, 28, 28, gzip: false);
            IdxFile.WriteLabels(Path.Combine(ValidData, $"{prefix}-labels-idx1-ubyte"), labels, gzip: false);
        }

        foreach (var name in DatasetFiles.BaseNames)
        {
            ValidFiles[name] = File.ReadAllBytes(Path.Combine(ValidData, name));
        }

        var options = TrainOptions.ForPreset("cct-tiny");
        using var model = new CctModel(TestDevices.Cpu, CctPresets.Tiny, 1);
        model.Initialize(seed: 1);
        Checkpoint.Save(ValidCheckpoint, model, options, new TrainingState(), DatasetSpec.FashionMnist);
    }

    [OneTimeTearDown]
    public void DeleteFolder() => Directory.Delete(Root, recursive: true);

    /// <summary>The inputs themselves are valid: the same commands succeed on them (guards every case below).</summary>
    [Test]
    public void TheValidInputsAreAccepted()
    {
        Assert.That(Checkpoint.Load(ValidCheckpoint).Config.Dim, Is.EqualTo(24));
        Assert.That(DatasetFiles.In(ValidData, DatasetSource.DataOption, out _)!.LoadTrain(DatasetSpec.FashionMnist).Count, Is.EqualTo(TrainImages));
        var png = Path.Combine(Root, "valid.png");
        File.WriteAllBytes(png, ValidPng());
        Assert.That(ImagePreprocessor.Load(png, 28), Has.Length.EqualTo(784));
    }

    [TestCaseSource(nameof(DataCases))]
    public void MalformedDataFolder(string file, string corruption, bool gzip)
    {
        var folder = Path.Combine(Root, "idx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        foreach (var (name, bytes) in ValidFiles)
        {
            File.WriteAllBytes(Path.Combine(folder, name), bytes);
        }

        CorruptDataFolder(folder, file, corruption, gzip);
        var run = Path.Combine(folder, "run");
        AssertOneLineFailure(["train", "--model", "cct-tiny", "--epochs", "1", "--batch", "8", "--data", folder, "--accelerator", "cpu", "--out", run], run);
    }

    [TestCaseSource(nameof(CheckpointCases))]
    public void MalformedCheckpoint(string corruption) => AssertResumeFails(CorruptCheckpoint(File.ReadAllBytes(ValidCheckpoint), corruption));

    [TestCaseSource(nameof(ConfigCases))]
    public void MalformedCheckpointConfig(string key, string corruption) => AssertResumeFails(CorruptMetadata(key, corruption));

    [TestCaseSource(nameof(PngCases))]
    public void MalformedPng(string corruption)
    {
        var path = Path.Combine(Root, "png-" + Guid.NewGuid().ToString("N") + ".png");
        if (corruption == "directory")
        {
            Directory.CreateDirectory(path);
        }
        else if (corruption != "missing")
        {
            File.WriteAllBytes(path, CorruptPng(ValidPng(), corruption));
        }

        var (code, output, error) = CliRunner.Run("predict", "--checkpoint", ValidCheckpoint, "--accelerator", "cpu", path);
        TestContext.Out.WriteLine(error);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1), output);
            Assert.That(error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), error);
            Assert.That(error, Does.StartWith("cct: error: ").And.Contain(path).And.Not.Contain("   at "));
        });
    }

    public static IEnumerable<TestCaseData> DataCases()
    {
        string[] imageCorruptions = ["empty", "cut:1", "cut:3", "cut:4", "cut:8", "cut:15", "cut:16", "cut:116", "drop-last", "magic-byte0", "magic-type", "magic-dims-low", "magic-dims-high",
            "count+1", "count-1", "count-max", "count-negative", "rows:27", "cols:29", "rows:0", "append", "text"];
        string[] labelCorruptions = ["empty", "cut:1", "cut:3", "cut:4", "cut:7", "cut:8", "drop-last", "magic-byte0", "magic-type", "magic-dims-low", "magic-dims-high",
            "count+1", "count-1", "count-max", "count-negative", "label:10", "label:255", "append", "text"];
        foreach (var gzip in new[] { false, true })
        {
            foreach (var file in DatasetFiles.BaseNames)
            {
                foreach (var corruption in file.Contains("images", StringComparison.Ordinal) ? imageCorruptions : labelCorruptions)
                {
                    yield return Case("idx", file, corruption, gzip);
                }
            }
        }

        foreach (var file in DatasetFiles.BaseNames)
        {
            foreach (var corruption in new[] { "gz-cut-half", "gz-header-only", "gz-flip-body", "gz-bad-trailer", "missing", "directory" })
            {
                yield return Case("idx", file, corruption, true);
            }
        }

        foreach (var corruption in new[] { "no-train-images", "no-test-images", "train-count-mismatch", "test-count-mismatch" })
        {
            yield return Case("idx", "folder", corruption, false);
        }
    }

    public static IEnumerable<TestCaseData> CheckpointCases()
    {
        string[] corruptions =
        [
            "cut:0", "cut:1", "cut:7", "cut:8", "cut:9", "cut:header-half", "cut:header-end", "cut:data-start+1", "cut:half", "cut:last-4", "cut:last-1",
            "length:+1", "length:-1", "length:0", "length:max", "length:100000001", "length:file", "length:+8",
            "header:non-utf8", "header:not-json", "header:array", "header:null", "header:number", "entry:string", "entry:no-dtype", "entry:no-shape",
            "entry:no-offsets", "entry:shape-string", "entry:shape-fraction", "entry:shape-negative", "entry:offsets-one", "entry:offsets-three",
            "entry:offsets-strings", "metadata:number", "metadata:nested",
            "offsets:past-end", "offsets:negative", "offsets:reversed", "offsets:overlap", "offsets:trailing-bytes",
            "dtype:F16", "dtype:I32", "dtype:F64", "dtype:BF16", "dtype:U8", "dtype:Q4",
            "shape:transposed", "shape:flattened",
            "missing:classifier.fc.weight", "missing:optimizer.exp_avg.classifier.fc.weight", "missing:optimizer.exp_avg_sq.classifier.fc.weight",
            "missing:classifier.positional_emb", "extra:classifier.extra.weight", "extra:optimizer.exp_avg.classifier.bogus",
            "value:NaN:classifier.fc.weight", "value:+Inf:tokenizer.conv_layers.0.0.weight", "value:-Inf:optimizer.exp_avg_sq.classifier.fc.bias",
            "value:NaN:classifier.positional_emb", "value:NaN:optimizer.exp_avg.classifier.norm.weight",
        ];
        return corruptions.Select(c => Case("safetensors", c));
    }

    public static IEnumerable<TestCaseData> ConfigCases()
    {
        (string Key, string Corruption)[] cases =
        [
            ("format", "remove"), ("format", "text:cct-checkpoint/2"), ("all", "remove"),
            ("config", "remove"), ("config", "text:"), ("config", "text:{"), ("config", "text:null"), ("config", "text:[]"), ("config", "dim=\"x\""),
            ("config", "heads=5"), ("config", "dim=0"), ("config", "kernel=2"), ("config", "layers=0"), ("config", "attention_dropout=1.5"),
            ("config", "image_size=1000"), ("config", "classes=3"), ("config", "in_channels=3"), ("config", "mlp_ratio=0"), ("config", "conv_channels=[]"),
            ("config", "dim=1000000"), ("config", "layers=1000"), ("config", "positional_embedding=\"weird\""), ("config", "dim=99999999999"),
            ("training", "remove"), ("training", "text:{"), ("training", "batch_size=0"), ("training", "batch_size=1000000000"),
            ("training", "learning_rate=\"NaN\""), ("training", "epochs=0"), ("dataset", "text:cifar"), ("dataset", "remove"),
            ("training", "seed=-1"), ("training", "validation_split=0.95"), ("training", "beta1=1.0"), ("training", "adam_epsilon=0"),
            ("state", "remove"), ("state", "text:{"), ("state", "epoch=-1"), ("state", "step=-5"), ("state", "batch_in_epoch=100000"),
            ("state", "epoch_sums=[1,2]"), ("state", "epoch_sums=[0,0,\"NaN\",-1]"), ("state", "best_metric=\"NaN\""),
        ];
        return cases.Select(c => Case("config", c.Key, c.Corruption));
    }

    public static IEnumerable<TestCaseData> PngCases()
    {
        string[] corruptions =
        [
            "empty", "cut:1", "cut:8", "cut:20", "cut:33", "cut:quarter", "cut:half", "cut:three-quarters", "signature", "ihdr-crc",
            "width:0", "size:100000x100000", "size:2147483647x1", "bit-depth:3", "colour-type:5", "idat-flip", "text", "random", "gif-header",
            "jpeg-header", "missing", "directory",
        ];
        return corruptions.Select(c => Case("png", c));
    }

    private static TestCaseData Case(string kind, params object[] args)
        => new TestCaseData(args).SetName($"{kind}: {string.Join(" ", args)}").SetCategory(kind);

    private static void AssertResumeFails(byte[] checkpoint)
    {
        var folder = Path.Combine(Root, "ckpt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, RunFolder.LastCheckpointName);
        File.WriteAllBytes(path, checkpoint);
        var run = Path.Combine(folder, "run");
        AssertOneLineFailure(["train", "--resume", path, "--data", ValidData, "--accelerator", "cpu", "--out", run], run);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(checkpoint), "the checkpoint is left as it was");
        Assert.That(Directory.GetFileSystemEntries(folder), Has.Length.EqualTo(1), "nothing is written beside it");
    }

    private static void AssertOneLineFailure(string[] args, string run)
    {
        var (code, output, error) = CliRunner.Run(args);
        TestContext.Out.WriteLine(error);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Not.Zero, output);
            Assert.That(error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), error);
            Assert.That(error, Does.StartWith("cct: error: ").And.Not.Contain("   at "));
            Assert.That(Directory.Exists(run), Is.False, "no run folder");
        });
    }

    private static void CorruptDataFolder(string folder, string file, string corruption, bool gzip)
    {
        if (file == "folder")
        {
            var (prefix, count) = corruption.StartsWith("no-train", StringComparison.Ordinal) || corruption.StartsWith("train", StringComparison.Ordinal) ? ("train", TrainImages) : ("t10k", TestImages);
            var images = Path.Combine(folder, $"{prefix}-images-idx3-ubyte");
            var labels = Path.Combine(folder, $"{prefix}-labels-idx1-ubyte");
            var kept = corruption.StartsWith("no-", StringComparison.Ordinal) ? 0 : count - 1;
            IdxFile.WriteImages(images, new byte[kept * 784], kept, 28, 28, gzip: false);
            if (kept == 0)
            {
                IdxFile.WriteLabels(labels, [], gzip: false);
            }

            return;
        }

        var path = Path.Combine(folder, file);
        if (corruption is "missing" or "directory")
        {
            File.Delete(path);
            if (corruption == "directory")
            {
                Directory.CreateDirectory(path + ".gz");
            }

            return;
        }

        var bytes = corruption.StartsWith("gz-", StringComparison.Ordinal) ? CorruptGzip(Gzip(ValidFiles[file]), corruption) : CorruptIdx(ValidFiles[file], corruption, file.Contains("images", StringComparison.Ordinal));
        if (gzip)
        {
            File.Delete(path);
            File.WriteAllBytes(path + ".gz", corruption.StartsWith("gz-", StringComparison.Ordinal) ? bytes : Gzip(bytes));
        }
        else
        {
            File.WriteAllBytes(path, bytes);
        }
    }

    private static byte[] CorruptIdx(byte[] valid, string corruption, bool images)
    {
        var bytes = (byte[])valid.Clone();
        var header = images ? 16 : 8;
        var (name, argument) = Split(corruption);
        switch (name)
        {
            case "empty":
                return [];
            case "cut":
                return bytes[..int.Parse(argument, System.Globalization.CultureInfo.InvariantCulture)];
            case "drop-last":
                return bytes[..^1];
            case "magic-byte0":
                bytes[0] = 1;
                return bytes;
            case "magic-type":
                bytes[2] = 0x09;
                return bytes;
            case "magic-dims-low":
                bytes[3]--;
                return bytes;
            case "magic-dims-high":
                bytes[3]++;
                return bytes;
            case "count+1":
                return WithInt(bytes, 4, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4)) + 1);
            case "count-1":
                return WithInt(bytes, 4, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4)) - 1);
            case "count-max":
                return WithInt(bytes, 4, int.MaxValue);
            case "count-negative":
                return WithInt(bytes, 4, -1);
            case "rows":
                return WithInt(bytes, 8, int.Parse(argument, System.Globalization.CultureInfo.InvariantCulture));
            case "cols":
                return WithInt(bytes, 12, int.Parse(argument, System.Globalization.CultureInfo.InvariantCulture));
            case "label":
                bytes[header + 3] = byte.Parse(argument, System.Globalization.CultureInfo.InvariantCulture);
                return bytes;
            case "append":
                return [.. bytes, 0];
            case "text":
                return Encoding.UTF8.GetBytes("these are not the images you are looking for\n");
            default:
                throw new ArgumentException(corruption);
        }
    }

    private static byte[] CorruptGzip(byte[] gzip, string corruption)
    {
        switch (corruption)
        {
            case "gz-cut-half":
                return gzip[..(gzip.Length / 2)];
            case "gz-header-only":
                return gzip[..10];
            case "gz-flip-body":
                for (var i = 12; i < gzip.Length - 8; i += 7)
                {
                    gzip[i] ^= 0x5A;
                }

                return gzip;
            case "gz-bad-trailer":
                gzip[^8] ^= 0xFF;
                return gzip;
            default:
                throw new ArgumentException(corruption);
        }
    }

    private static byte[] CorruptCheckpoint(byte[] valid, string corruption)
    {
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(valid);
        var dataStart = 8 + headerLength;
        var header = JsonNode.Parse(valid.AsSpan(8, headerLength))!.AsObject();
        var data = valid[dataStart..];
        var tensor = header["classifier.fc.weight"]!.AsObject();
        var (name, argument) = Split(corruption);
        switch (name)
        {
            case "cut":
                var cut = argument switch
                {
                    "header-half" => 8 + (headerLength / 2),
                    "header-end" => dataStart,
                    "data-start+1" => dataStart + 1,
                    "half" => valid.Length / 2,
                    "last-4" => valid.Length - 4,
                    "last-1" => valid.Length - 1,
                    _ => int.Parse(argument, System.Globalization.CultureInfo.InvariantCulture),
                };
                return valid[..cut];
            case "length":
                var length = argument switch
                {
                    "+1" => (ulong)headerLength + 1,
                    "-1" => (ulong)headerLength - 1,
                    "+8" => (ulong)headerLength + 8,
                    "max" => ulong.MaxValue,
                    "file" => (ulong)valid.Length,
                    _ => ulong.Parse(argument, System.Globalization.CultureInfo.InvariantCulture),
                };
                var copy = (byte[])valid.Clone();
                BinaryPrimitives.WriteUInt64LittleEndian(copy, length);
                return copy;
            case "header":
                var text = argument switch
                {
                    "non-utf8" => null,
                    "not-json" => "this is not json",
                    "array" => "[]",
                    "null" => "null",
                    _ => "123",
                };
                return Assemble(text is null ? [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D] : Encoding.UTF8.GetBytes(text), data);
            case "entry":
                switch (argument)
                {
                    case "string":
                        header["classifier.fc.weight"] = "F32";
                        break;
                    case "no-dtype":
                        tensor.Remove("dtype");
                        break;
                    case "no-shape":
                        tensor.Remove("shape");
                        break;
                    case "no-offsets":
                        tensor.Remove("data_offsets");
                        break;
                    case "shape-string":
                        tensor["shape"] = new JsonArray("10", "24");
                        break;
                    case "shape-fraction":
                        tensor["shape"] = new JsonArray(10, 24.5);
                        break;
                    case "shape-negative":
                        tensor["shape"] = new JsonArray(-10, -24);
                        break;
                    case "offsets-one":
                        tensor["data_offsets"] = new JsonArray(Offset(tensor, 0));
                        break;
                    case "offsets-three":
                        tensor["data_offsets"] = new JsonArray(Offset(tensor, 0), Offset(tensor, 1), Offset(tensor, 1));
                        break;
                    default:
                        tensor["data_offsets"] = new JsonArray(Offset(tensor, 0).ToString(System.Globalization.CultureInfo.InvariantCulture), Offset(tensor, 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
                        break;
                }

                return Assemble(header, data);
            case "metadata":
                header["__metadata__"]!["format"] = argument == "number" ? 1 : new JsonObject { ["x"] = "y" };
                return Assemble(header, data);
            case "offsets":
                var (begin, end) = (Offset(tensor, 0), Offset(tensor, 1));
                switch (argument)
                {
                    case "past-end":
                        tensor["data_offsets"] = new JsonArray(data.Length - (end - begin) + 4, data.Length + 4);
                        break;
                    case "negative":
                        tensor["data_offsets"] = new JsonArray(-4, end - begin - 4);
                        break;
                    case "reversed":
                        tensor["data_offsets"] = new JsonArray(end, begin);
                        break;
                    case "overlap":
                        // Same size as its first moment, so only the overlap (and the hole it leaves) is wrong.
                        var moment = header["optimizer.exp_avg.classifier.fc.weight"]!.AsObject();
                        tensor["data_offsets"] = new JsonArray(Offset(moment, 0), Offset(moment, 1));
                        break;
                    default:
                        return Assemble(header, [.. data, 0, 0, 0, 0]);
                }

                return Assemble(header, data);
            case "dtype":
                tensor["dtype"] = argument;
                return Assemble(header, data);
            case "shape":
                tensor["shape"] = argument == "transposed" ? new JsonArray(24, 10) : new JsonArray(240);
                return Assemble(header, data);
            default:
                break;
        }

        // Tensor-level changes: rebuilt through the writer, so the file is otherwise well formed.
        var file = SafeTensorsFile.Parse(valid, "valid");
        var tensors = file.Tensors.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
        switch (name)
        {
            case "missing":
                tensors.Remove(argument);
                break;
            case "extra":
                tensors[argument] = SafeTensor.FromFloats([0f], 1);
                break;
            case "value":
                var parts = argument.Split(':', 2);
                var values = tensors[parts[1]].ToFloats();
                values[values.Length / 2] = parts[0] switch { "NaN" => float.NaN, "+Inf" => float.PositiveInfinity, _ => float.NegativeInfinity };
                tensors[parts[1]] = SafeTensor.FromFloats(values, tensors[parts[1]].Shape);
                break;
            default:
                throw new ArgumentException(corruption);
        }

        return new SafeTensorsFile(tensors, file.Metadata).ToBytes();
    }

    private static byte[] CorruptMetadata(string key, string corruption)
    {
        var file = SafeTensorsFile.Read(ValidCheckpoint);
        var metadata = file.Metadata.ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal);
        if (key == "all")
        {
            metadata.Clear();
        }
        else if (corruption == "remove")
        {
            metadata.Remove(key);
        }
        else if (corruption.StartsWith("text:", StringComparison.Ordinal))
        {
            metadata[key] = corruption["text:".Length..];
        }
        else
        {
            var json = JsonNode.Parse(metadata[key])!.AsObject();
            var (field, value) = (corruption[..corruption.IndexOf('=', StringComparison.Ordinal)], corruption[(corruption.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            json[field] = JsonNode.Parse(value);
            metadata[key] = json.ToJsonString();
        }

        return new SafeTensorsFile(file.Tensors, metadata).ToBytes();
    }

    private static byte[] CorruptPng(byte[] valid, string corruption)
    {
        var bytes = (byte[])valid.Clone();
        var (name, argument) = Split(corruption);
        switch (name)
        {
            case "empty":
                return [];
            case "cut":
                var cut = argument switch
                {
                    "quarter" => valid.Length / 4,
                    "half" => valid.Length / 2,
                    "three-quarters" => valid.Length * 3 / 4,
                    _ => int.Parse(argument, System.Globalization.CultureInfo.InvariantCulture),
                };
                return valid[..cut];
            case "signature":
                bytes[1] = (byte)'X';
                return bytes;
            case "ihdr-crc":
                bytes[29] ^= 0xFF;
                return bytes;
            case "width":
                return WithIhdr(bytes, 16, 0);
            case "size":
                var sides = argument.Split('x');
                return WithIhdr(WithIhdr(bytes, 16, uint.Parse(sides[0], System.Globalization.CultureInfo.InvariantCulture)), 20, uint.Parse(sides[1], System.Globalization.CultureInfo.InvariantCulture));
            case "bit-depth":
                bytes[24] = 3;
                return WithIhdr(bytes, 16, 64);
            case "colour-type":
                bytes[25] = 5;
                return WithIhdr(bytes, 16, 64);
            case "idat-flip":
                for (var i = 60; i < bytes.Length - 20; i += 13)
                {
                    bytes[i] ^= 0x5A;
                }

                return bytes;
            case "text":
                return Encoding.UTF8.GetBytes("not an image\n");
            case "random":
                var noise = new byte[4096];
                new Random(9).NextBytes(noise);
                return noise;
            case "gif-header":
                return [.. "GIF89a"u8, 0x40, 0, 0x40, 0, 0, 0, 0];
            case "jpeg-header":
                return [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0];
            default:
                throw new ArgumentException(corruption);
        }
    }

    /// <summary>A 64×64 noisy grey PNG, so its compressed data is large enough to cut in places.</summary>
    private static byte[] ValidPng()
    {
        using var bitmap = new SKBitmap(64, 64, SKColorType.Rgba8888, SKAlphaType.Premul);
        var random = new Random(3);
        for (var y = 0; y < 64; y++)
        {
            for (var x = 0; x < 64; x++)
            {
                var v = (byte)random.Next(256);
                bitmap.SetPixel(x, y, new SKColor(v, v, v));
            }
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    // Sets a big-endian field of the IHDR chunk (data at bytes 16..28) and repairs the chunk's CRC, so only the field is wrong.
    private static byte[] WithIhdr(byte[] png, int offset, uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(offset), value);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32(png.AsSpan(12, 17)));
        return png;
    }

    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }

    private static byte[] WithInt(byte[] bytes, int offset, int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(offset), value);
        return bytes;
    }

    private static long Offset(JsonObject tensor, int index) => tensor["data_offsets"]![index]!.GetValue<long>();

    private static byte[] Assemble(JsonObject header, byte[] data) => Assemble(Encoding.UTF8.GetBytes(header.ToJsonString()), data);

    private static byte[] Assemble(byte[] header, byte[] data)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }

    private static (string Name, string Argument) Split(string corruption)
    {
        var colon = corruption.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (corruption, string.Empty) : (corruption[..colon], corruption[(colon + 1)..]);
    }
}
