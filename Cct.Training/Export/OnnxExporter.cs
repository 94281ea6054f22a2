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
internal sealed class OnnxExporter
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
        var x = "images";
        foreach (var module in CctArchitecture.Of(config).Modules)
        {
            x = module switch
            {
                ConvStageSpec stage => ConvStage(stage, x),
                TokensSpec tokens => Tokens(tokens, x),
                BlockSpec block => block.Layout == BlockLayout.Official ? OfficialBlock(block, x) : PostNormBlock(block, x),
                HeadSpec head => Head(head, x),
                _ => throw new NotSupportedException($"no ONNX export for {module.GetType().Name}"),
            };
        }

        return Model(x, metadata);
    }

    private string ConvStage(ConvStageSpec s, string x)
    {
        var conv = s.Conv;
        var pad = conv.Padding;
        string[] inputs = s.Bias is { } bias ? [x, Parameter(s.Weight), Parameter(bias)] : [x, Parameter(s.Weight)];
        x = Node("Conv", inputs, Ints("kernel_shape", conv.Kernel, conv.Kernel), Ints("pads", pad, pad, pad, pad), Ints("strides", conv.Stride, conv.Stride));
        if (s.Norm is { } n)
        {
            x = Node("BatchNormalization", [x, Parameter(n.Weight), Parameter(n.Bias), Buffer(n.RunningMean), Buffer(n.RunningVar)], Float("epsilon", 1e-5f));
        }

        x = Node("Relu", [x]);
        if (s.Pool is { } pool)
        {
            var p = pool.Padding;
            x = Node("MaxPool", [x], Ints("kernel_shape", pool.Kernel, pool.Kernel), Ints("strides", pool.Stride, pool.Stride), Ints("pads", p, p, p, p));
        }

        return x;
    }

    // (B, C, h, w) → (B, h·w, C): the official flatten(2, 3).transpose(-2, -1); then the positional embedding.
    private string Tokens(TokensSpec s, string x)
    {
        x = Node("Transpose", [Node("Reshape", [x, Shape("tokens", 0, s.Dim, -1)])], Ints("perm", 0, 2, 1));
        return s.Kind switch
        {
            PositionalEmbeddingKind.Learnable => Node("Add", [x, Parameter(s.Embedding!)]),
            PositionalEmbeddingKind.Sine => Node("Add", [x, Buffer(s.Embedding!)]),
            _ => x,
        };
    }

    // x += Attn(LN_pre(x)); x = LN1(x); x += MLP_GELU(x).
    private string OfficialBlock(BlockSpec s, string x)
    {
        x = Node("Add", [x, Attention(s, LayerNorm(s.PreNorm!, x))]);
        x = LayerNorm(s.Norm1, x);
        return Node("Add", [x, Mlp(s, x, Gelu)]);
    }

    // x = LN1(x + Attn(x)); x = LN2(x + MLP_ReLU(x)).
    private string PostNormBlock(BlockSpec s, string x)
    {
        x = LayerNorm(s.Norm1, Node("Add", [x, Attention(s, x)]));
        return LayerNorm(s.Norm2!, Node("Add", [x, Mlp(s, x, h => Node("Relu", [h]))]));
    }

    private string Attention(BlockSpec s, string x)
    {
        var headSize = s.Dim / s.Heads;
        var qkv = Linear(s.Qkv, x);

        // (B, T, 3C) → (3, B, H, T, hs), as the official reshape(B, N, 3, H, hs).permute(2, 0, 3, 1, 4).
        var heads = Node("Transpose", [Node("Reshape", [qkv, Shape("qkv", 0, 0, 3, s.Heads, headSize)])], Ints("perm", 2, 0, 3, 1, 4));
        var q = Node("Gather", [heads, Index(0)], Int("axis", 0));
        var k = Node("Gather", [heads, Index(1)], Int("axis", 0));
        var v = Node("Gather", [heads, Index(2)], Int("axis", 0));
        var scores = Node("Mul", [Node("MatMul", [q, Node("Transpose", [k], Ints("perm", 0, 1, 3, 2))]), Scalar("attention_scale", (float)(1.0 / Math.Sqrt(headSize)))]);
        var mixed = Node("MatMul", [Node("Softmax", [scores], Int("axis", -1)), v]);
        var merged = Node("Reshape", [Node("Transpose", [mixed], Ints("perm", 0, 2, 1, 3)), Shape("merged", 0, 0, s.Dim)]);
        return Linear(s.Proj, merged);
    }

    private string Mlp(BlockSpec s, string x, Func<string, string> activation) => Linear(s.Linear2, activation(Linear(s.Linear1, x)));

    // [final norm] → SeqPool (softmax over tokens of Linear(d, 1), then the weighted sum of tokens) or mean → fc.
    private string Head(HeadSpec s, string x)
    {
        if (s.Norm is { } norm)
        {
            x = LayerNorm(norm, x);
        }

        string pooled;
        if (s.AttentionPool is { } pool)
        {
            var weights = Node("Softmax", [Linear(pool, x)], Int("axis", 1));
            pooled = Node("Reshape", [Node("MatMul", [Node("Transpose", [weights], Ints("perm", 0, 2, 1)), x]), Shape("pooled", 0, -1)]);
        }
        else
        {
            pooled = Node("ReduceMean", [x], Ints("axes", 1), Int("keepdims", 0));
        }

        return Linear(s.Fc, pooled, output: "logits");
    }

    // GELU with erf, as torch.nn.functional.gelu: 0.5·x·(1 + erf(x / √2)).
    private string Gelu(string x)
    {
        var erf = Node("Erf", [Node("Div", [x, Scalar("sqrt2", MathF.Sqrt(2f))])]);
        return Node("Mul", [Node("Mul", [x, Node("Add", [erf, Scalar("one", 1f)])]), Scalar("half", 0.5f)]);
    }

    private string LayerNorm(LayerNormSpec norm, string x)
        => Node("LayerNormalization", [x, Parameter(norm.Weight), Parameter(norm.Bias)], Int("axis", -1), Float("epsilon", 1e-5f));

    // torch.nn.Linear: x · Wᵀ + b, with W (out, in) kept in PyTorch's layout and transposed in the graph.
    private string Linear(LinearSpec linear, string x, string? output = null)
    {
        var product = Node("MatMul", [x, Node("Transpose", [Parameter(linear.Weight)], Ints("perm", 1, 0))], output: linear.Bias is null ? output : null);
        return linear.Bias is { } bias ? Node("Add", [product, Parameter(bias)], output: output) : product;
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

    private string Parameter(TensorSpec tensor) => Initializer(tensor.Name, parameter(tensor.Name), tensor.Shape);

    private string Buffer(TensorSpec tensor) => Initializer(tensor.Name, buffer(tensor.Name), tensor.Shape);

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
