using System.Buffers.Binary;
using System.Globalization;
using Cct.Gpu.Model;

namespace Cct.Training.Export;

/// <summary>
/// Writes a CCT as an ONNX model (opset 17, inference graph: dropout and drop-path are identities), as the
/// seed notebook's torch.onnx.export did. Input "images" (batch, C, H, W), already normalised with the
/// dataset's mean and std (stored in the model's metadata with the class names); output "logits"
/// (batch, classes). Weights keep their PyTorch state_dict names; the batch dimension is symbolic.
/// </summary>
public sealed class OnnxExporter
{
    private const int Opset = 17;
    private const int IrVersion = 8;
    private const int FloatType = 1;
    private const int Int64Type = 7;

    private readonly CctConfig config;
    private readonly Func<string, float[]> parameter;
    private readonly Func<string, float[]> buffer;
    private readonly List<Action<ProtoWriter>> nodes = [];
    private readonly List<Action<ProtoWriter>> initializers = [];
    private readonly HashSet<string> initialized = new(StringComparer.Ordinal);
    private int counter;

    /// <param name="config">The model's shape.</param>
    /// <param name="parameter">Values of a parameter by state_dict name, in PyTorch's layout.</param>
    /// <param name="buffer">Values of a buffer (BatchNorm running statistics, a sine embedding) by name.</param>
    public OnnxExporter(CctConfig config, Func<string, float[]> parameter, Func<string, float[]> buffer)
    {
        this.config = config;
        this.parameter = parameter;
        this.buffer = buffer;
    }

    /// <summary>The model file's bytes; <paramref name="metadata"/> goes into metadata_props.</summary>
    public byte[] Export(IReadOnlyDictionary<string, string> metadata)
    {
        var c = config;
        var x = "images";
        for (var i = 0; i < c.TokenizerChannels.Count; i++)
        {
            x = Tokenizer(i, x);
        }

        // (B, C, h, w) → (B, h·w, C): the official flatten(2, 3).transpose(-2, -1).
        x = Node("Transpose", [Node("Reshape", [x, Shape("tokens", 0, c.Dim, -1)])], Ints("perm", 0, 2, 1));
        if (c.PositionalEmbedding == PositionalEmbeddingKind.Learnable)
        {
            x = Node("Add", [x, Parameter("classifier.positional_emb", 1, c.Tokens, c.Dim)]);
        }
        else if (c.PositionalEmbedding == PositionalEmbeddingKind.Sine)
        {
            x = Node("Add", [x, Buffer("classifier.positional_emb", 1, c.Tokens, c.Dim)]);
        }

        for (var j = 0; j < c.Layers; j++)
        {
            x = c.Layout == BlockLayout.Official ? OfficialBlock(j, x) : PostNormBlock(j, x);
        }

        if (c.Layout == BlockLayout.Official)
        {
            x = LayerNorm("classifier.norm", x);
        }

        string pooled;
        if (c.Pooling == PoolingKind.Seq)
        {
            // SeqPool: softmax over tokens of Linear(d, 1), then the weighted sum of tokens.
            var weights = Node("Softmax", [Linear("classifier.attention_pool", x, c.Dim, 1, bias: true)], Int("axis", 1));
            pooled = Node("Reshape", [Node("MatMul", [Node("Transpose", [weights], Ints("perm", 0, 2, 1)), x]), Shape("pooled", 0, -1)]);
        }
        else
        {
            pooled = Node("ReduceMean", [x], Ints("axes", 1), Int("keepdims", 0));
        }

        var logits = Linear("classifier.fc", pooled, c.Dim, c.Classes, bias: true, output: "logits");
        return Model(logits, metadata);
    }

    private string Tokenizer(int i, string x)
    {
        var c = config;
        var prefix = $"tokenizer.conv_layers.{i}.";
        var inChannels = i == 0 ? c.InChannels : c.TokenizerChannels[i - 1];
        var outChannels = c.TokenizerChannels[i];
        var pad = c.Kernel / 2;
        x = Node("Conv", [x, Parameter(prefix + "0.weight", outChannels, inChannels, c.Kernel, c.Kernel)],
            Ints("kernel_shape", c.Kernel, c.Kernel), Ints("pads", pad, pad, pad, pad), Ints("strides", 1, 1));
        if (c.BatchNorm)
        {
            x = Node("BatchNormalization",
                [x, Parameter(prefix + "1.weight", outChannels), Parameter(prefix + "1.bias", outChannels), Buffer(prefix + "1.running_mean", outChannels), Buffer(prefix + "1.running_var", outChannels)],
                Float("epsilon", 1e-5f));
        }

        x = Node("Relu", [x]);
        if (c.PoolAfterEveryConv || i == c.TokenizerChannels.Count - 1)
        {
            var p = c.PoolPadding;
            x = Node("MaxPool", [x], Ints("kernel_shape", c.PoolKernel, c.PoolKernel), Ints("strides", c.PoolStride, c.PoolStride), Ints("pads", p, p, p, p));
        }

        return x;
    }

    // x += Attn(LN_pre(x)); x = LN1(x); x += MLP_GELU(x).
    private string OfficialBlock(int j, string x)
    {
        var p = $"classifier.blocks.{j}.";
        x = Node("Add", [x, Attention(p, LayerNorm(p + "pre_norm", x))]);
        x = LayerNorm(p + "norm1", x);
        return Node("Add", [x, Mlp(p, x, Gelu)]);
    }

    // x = LN1(x + Attn(x)); x = LN2(x + MLP_ReLU(x)).
    private string PostNormBlock(int j, string x)
    {
        var p = $"classifier.blocks.{j}.";
        x = LayerNorm(p + "norm1", Node("Add", [x, Attention(p, x)]));
        return LayerNorm(p + "norm2", Node("Add", [x, Mlp(p, x, h => Node("Relu", [h]))]));
    }

    private string Attention(string block, string x)
    {
        var c = config;
        var p = block + "self_attn.";
        var qkv = Linear(p + "qkv", x, c.Dim, 3 * c.Dim, bias: false);

        // (B, T, 3C) → (3, B, H, T, hs), as the official reshape(B, N, 3, H, hs).permute(2, 0, 3, 1, 4).
        var heads = Node("Transpose", [Node("Reshape", [qkv, Shape("qkv", 0, 0, 3, c.Heads, c.HeadSize)])], Ints("perm", 2, 0, 3, 1, 4));
        var q = Node("Gather", [heads, Index(0)], Int("axis", 0));
        var k = Node("Gather", [heads, Index(1)], Int("axis", 0));
        var v = Node("Gather", [heads, Index(2)], Int("axis", 0));
        var scores = Node("Mul", [Node("MatMul", [q, Node("Transpose", [k], Ints("perm", 0, 1, 3, 2))]), Scalar("attention_scale", (float)(1.0 / Math.Sqrt(c.HeadSize)))]);
        var mixed = Node("MatMul", [Node("Softmax", [scores], Int("axis", -1)), v]);
        var merged = Node("Reshape", [Node("Transpose", [mixed], Ints("perm", 0, 2, 1, 3)), Shape("merged", 0, 0, c.Dim)]);
        return Linear(p + "proj", merged, c.Dim, c.Dim, bias: true);
    }

    private string Mlp(string block, string x, Func<string, string> activation)
    {
        var c = config;
        var hidden = activation(Linear(block + "linear1", x, c.Dim, c.MlpHidden, bias: true));
        return Linear(block + "linear2", hidden, c.MlpHidden, c.Dim, bias: true);
    }

    // GELU with erf, as torch.nn.functional.gelu: 0.5·x·(1 + erf(x / √2)).
    private string Gelu(string x)
    {
        var erf = Node("Erf", [Node("Div", [x, Scalar("sqrt2", MathF.Sqrt(2f))])]);
        return Node("Mul", [Node("Mul", [x, Node("Add", [erf, Scalar("one", 1f)])]), Scalar("half", 0.5f)]);
    }

    private string LayerNorm(string name, string x)
        => Node("LayerNormalization", [x, Parameter(name + ".weight", config.Dim), Parameter(name + ".bias", config.Dim)], Int("axis", -1), Float("epsilon", 1e-5f));

    // torch.nn.Linear: x · Wᵀ + b, with W (out, in) kept in PyTorch's layout and transposed in the graph.
    private string Linear(string name, string x, int inFeatures, int outFeatures, bool bias, string? output = null)
    {
        var product = Node("MatMul", [x, Node("Transpose", [Parameter(name + ".weight", outFeatures, inFeatures)], Ints("perm", 1, 0))], output: bias ? null : output);
        return bias ? Node("Add", [product, Parameter(name + ".bias", outFeatures)], output: output) : product;
    }

    private string Node(string op, string[] inputs, params Action<ProtoWriter>[] attributes) => Node(op, inputs, null, attributes);

    private string Node(string op, string[] inputs, string? output, params Action<ProtoWriter>[] attributes)
    {
        var name = output ?? $"{op.ToLowerInvariant()}_{counter++}";
        nodes.Add(w =>
        {
            foreach (var input in inputs)
            {
                w.String(1, input);
            }

            w.String(2, name).String(3, name).String(4, op);
            foreach (var attribute in attributes)
            {
                w.Message(5, attribute);
            }
        });
        return name;
    }

    private string Parameter(string name, params int[] shape) => Initializer(name, parameter(name), shape);

    private string Buffer(string name, params int[] shape) => Initializer(name, buffer(name), shape);

    private string Scalar(string name, float value) => Initializer("const." + name, [value], []);

    private string Initializer(string name, float[] values, int[] shape)
    {
        if (initialized.Add(name))
        {
            var expected = shape.Aggregate(1L, (a, b) => a * b);
            if (values.Length != expected)
            {
                throw new InvalidOperationException($"{name}: {values.Length} values for shape ({string.Join(", ", shape)})");
            }

            var raw = new byte[values.Length * sizeof(float)];
            for (var i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * sizeof(float)), values[i]);
            }

            initializers.Add(w => Tensor(w, name, FloatType, shape.Select(d => (long)d), raw));
        }

        return name;
    }

    // An int64 vector for Reshape; 0 copies the input's dimension (the batch), −1 is inferred.
    private string Shape(string name, params long[] values) => Int64Initializer("shape." + name, values, [values.Length]);

    private string Index(long value) => Int64Initializer("index." + value.ToString(CultureInfo.InvariantCulture), [value], []);

    private string Int64Initializer(string name, long[] values, long[] shape)
    {
        if (initialized.Add(name))
        {
            var raw = new byte[values.Length * sizeof(long)];
            for (var i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * sizeof(long)), values[i]);
            }

            initializers.Add(w => Tensor(w, name, Int64Type, shape, raw));
        }

        return name;
    }

    // TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian).
    private static void Tensor(ProtoWriter w, string name, int type, IEnumerable<long> shape, byte[] raw)
    {
        foreach (var d in shape)
        {
            w.Int(1, d);
        }

        w.Int(2, type).String(8, name).Bytes(9, raw);
    }

    // AttributeProto: name = 1, f = 2, i = 3, ints = 8, type = 20 (FLOAT 1, INT 2, INTS 7).
    private static Action<ProtoWriter> Int(string name, long value) => w => w.String(1, name).Int(3, value).Int(20, 2);

    private static Action<ProtoWriter> Float(string name, float value) => w => w.String(1, name).Float(2, value).Int(20, 1);

    private static Action<ProtoWriter> Ints(string name, params long[] values) => w =>
    {
        w.String(1, name);
        foreach (var v in values)
        {
            w.Int(8, v);
        }

        w.Int(20, 7);
    };

    // ModelProto: ir_version = 1, producer_name = 2, graph = 7, opset_import = 8, metadata_props = 14.
    // GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12.
    private byte[] Model(string logits, IReadOnlyDictionary<string, string> metadata)
    {
        var c = config;
        var model = new ProtoWriter()
            .Int(1, IrVersion)
            .String(2, "cct")
            .Message(7, g =>
            {
                foreach (var node in nodes)
                {
                    g.Message(1, node);
                }

                g.String(2, "cct");
                foreach (var initializer in initializers)
                {
                    g.Message(5, initializer);
                }

                g.Message(11, v => ValueInfo(v, "images", ["batch", c.InChannels, c.ImageSize, c.ImageSize]));
                g.Message(12, v => ValueInfo(v, logits, ["batch", c.Classes]));
            })
            .Message(8, o => o.String(1, string.Empty).Int(2, Opset));
        foreach (var (key, value) in metadata)
        {
            model.Message(14, m => m.String(1, key).String(2, value));
        }

        return model.ToArray();
    }

    // ValueInfoProto (name 1, type 2) → TypeProto.tensor_type (1) → elem_type (1), shape (2) → dim (1): dim_value (1) or dim_param (2).
    private static void ValueInfo(ProtoWriter w, string name, object[] dims)
    {
        w.String(1, name).Message(2, type => type.Message(1, tensor =>
        {
            tensor.Int(1, FloatType);
            tensor.Message(2, shape =>
            {
                foreach (var d in dims)
                {
                    shape.Message(1, dim =>
                    {
                        if (d is string symbol)
                        {
                            dim.String(2, symbol);
                        }
                        else
                        {
                            dim.Int(1, (int)d);
                        }
                    });
                }
            });
        }));
    }
}
