using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// How the blocked GEMM kernel reads one operand, as a (rows, K) matrix: element (m, k) of op(A), or element
/// (n, k) of op(B)ᵀ, for product z. Structs implementing it are type arguments of the kernel (ILGPU's
/// GenericKernel sample), so each closed kernel has its gather inlined and no switch over the operand kinds.
/// </summary>
internal interface IGemmOperand
{
    /// <summary>Whether consecutive k are adjacent in memory: the group then loads a slice along k, else along rows, so loads coalesce.</summary>
    bool AlongK { get; }

    /// <summary>Where product z starts; once per group.</summary>
    long Offset(int z);

    /// <summary>Element (row, k) of the product starting at <paramref name="offset"/>; row and k lie inside the operand.</summary>
    float Load(long offset, int row, int k);
}

/// <summary>A strided dense operand: its element (row, k) is one view element, whose index dropout hashes.</summary>
internal interface IStridedOperand : IGemmOperand
{
    long IndexOf(long offset, int row, int k);
}

/// <summary>
/// Dense operand with k contiguous: element (row, k) at offset + row·Ld; product z starts at
/// (z / Heads)·Batch + (z % Heads)·Head (<see cref="GemmLayout"/>). op(A) of an untransposed A, op(B)ᵀ of a transposed B.
/// </summary>
internal readonly struct RowMajor : IStridedOperand
{
    public readonly ArrayView<float> View;
    public readonly int Ld;
    public readonly int Heads;
    public readonly long Batch;
    public readonly long Head;

    public RowMajor(ArrayView<float> view, int ld, int heads, long batch, long head)
    {
        View = view;
        Ld = ld;
        Heads = heads;
        Batch = batch;
        Head = head;
    }

    public bool AlongK => true;

    public long Offset(int z) => ((long)(z / Heads) * Batch) + ((long)(z % Heads) * Head);

    public long IndexOf(long offset, int row, int k) => offset + ((row * Ld) + k);

    public float Load(long offset, int row, int k) => View[IndexOf(offset, row, k)];
}

/// <summary>Dense operand with rows contiguous: element (row, k) at offset + k·Ld + row. op(A) of a transposed A, op(B)ᵀ of an untransposed B.</summary>
internal readonly struct ColumnMajor : IStridedOperand
{
    public readonly ArrayView<float> View;
    public readonly int Ld;
    public readonly int Heads;
    public readonly long Batch;
    public readonly long Head;

    public ColumnMajor(ArrayView<float> view, int ld, int heads, long batch, long head)
    {
        View = view;
        Ld = ld;
        Heads = heads;
        Batch = batch;
        Head = head;
    }

    public bool AlongK => false;

    public long Offset(int z) => ((long)(z / Heads) * Batch) + ((long)(z % Heads) * Head);

    public long IndexOf(long offset, int row, int k) => offset + ((k * Ld) + row);

    public float Load(long offset, int row, int k) => View[IndexOf(offset, row, k)];
}

/// <summary>A dense operand read through inverted dropout (attention's probabilities), hashed on the element's view index.</summary>
internal readonly struct Dropped<TOperand> : IGemmOperand
    where TOperand : struct, IStridedOperand
{
    public readonly TOperand Operand;
    public readonly GemmDropout Dropout;

    public Dropped(TOperand operand, GemmDropout dropout)
    {
        Operand = operand;
        Dropout = dropout;
    }

    public bool AlongK => Operand.AlongK;

    public long Offset(int z) => Operand.Offset(z);

    public float Load(long offset, int row, int k) => Dropout.Apply(Operand.IndexOf(offset, row, k), Operand.Load(offset, row, k));
}

/// <summary>Convolution forward op(B)ᵀ: element (position (oh, ow), (ci, kh, kw)) of image z's unfolded input (im2col), zero in the padding.</summary>
internal readonly struct UnfoldedInput : IGemmOperand
{
    public readonly ArrayView<float> Input; // (B, Cin, H, W)
    public readonly Conv2dShape Conv;

    public UnfoldedInput(ArrayView<float> input, Conv2dShape conv)
    {
        Input = input;
        Conv = conv;
    }

    public bool AlongK => false;

    public long Offset(int z) => (long)z * Conv.InChannels * Conv.Height * Conv.Width;

    public float Load(long offset, int row, int k) => Unfolded(Input, Conv, offset, k, row);

    // Element (row = (ci, kh, kw), column = (oh, ow)) of the unfolded image at offset; zero in the padding.
    public static float Unfolded(ArrayView<float> input, Conv2dShape c, long offset, int row, int column)
    {
        var taps = c.Kernel * c.Kernel;
        var (ci, tap) = (row / taps, row % taps);
        var h = (column / c.OutWidth * c.Stride) + (tap / c.Kernel) - c.Padding;
        var w = (column % c.OutWidth * c.Stride) + (tap % c.Kernel) - c.Padding;
        return h >= 0 && h < c.Height && w >= 0 && w < c.Width
            ? input[offset + ((((ci * c.Height) + h) * c.Width) + w)]
            : 0f;
    }
}

/// <summary>Convolution weight gradient op(B)ᵀ: element ((ci, kh, kw), (b, position)) of the unfolded batch; one product.</summary>
internal readonly struct UnfoldedBatch : IGemmOperand
{
    public readonly ArrayView<float> Input; // (B, Cin, H, W)
    public readonly Conv2dShape Conv;

    public UnfoldedBatch(ArrayView<float> input, Conv2dShape conv)
    {
        Input = input;
        Conv = conv;
    }

    public bool AlongK => true;

    public long Offset(int z) => 0;

    public float Load(long offset, int row, int k)
    {
        var positions = Conv.OutHeight * Conv.OutWidth;
        var image = (long)(k / positions) * Conv.InChannels * Conv.Height * Conv.Width;
        return UnfoldedInput.Unfolded(Input, Conv, image, row, k % positions);
    }
}

/// <summary>Convolution input gradient op(A): weight (Cout, Cin, K, K) read as (Cin, Cout·K·K), element (ci, (co, kh, kw)).</summary>
internal readonly struct WeightTaps : IGemmOperand
{
    public readonly ArrayView<float> Weight; // (Cout, Cin, K, K)
    public readonly Conv2dShape Conv;

    public WeightTaps(ArrayView<float> weight, Conv2dShape conv)
    {
        Weight = weight;
        Conv = conv;
    }

    public bool AlongK => true;

    public long Offset(int z) => 0;

    public float Load(long offset, int row, int k)
    {
        var taps = Conv.Kernel * Conv.Kernel;
        return Weight[((((k / taps) * Conv.InChannels) + row) * taps) + (k % taps)];
    }
}

/// <summary>
/// Convolution input gradient op(B)ᵀ: element (pixel (h, w), (co, kh, kw)) of image z = doutput[z, co, oh, ow] of the
/// output position that reads input (h, w) through tap (kh, kw); zero where the stride or the border leaves none.
/// </summary>
internal readonly struct OutputTaps : IGemmOperand
{
    public readonly ArrayView<float> Doutput; // (B, Cout, Ho, Wo)
    public readonly Conv2dShape Conv;

    public OutputTaps(ArrayView<float> doutput, Conv2dShape conv)
    {
        Doutput = doutput;
        Conv = conv;
    }

    public bool AlongK => false;

    public long Offset(int z) => (long)z * Conv.OutChannels * Conv.OutHeight * Conv.OutWidth;

    public float Load(long offset, int row, int k)
    {
        var c = Conv;
        var taps = c.Kernel * c.Kernel;
        var (co, tap) = (k / taps, k % taps);
        var th = (row / c.Width) + c.Padding - (tap / c.Kernel);
        var tw = (row % c.Width) + c.Padding - (tap % c.Kernel);
        if (th < 0 || tw < 0 || th % c.Stride != 0 || tw % c.Stride != 0)
        {
            return 0f;
        }

        var (oh, ow) = (th / c.Stride, tw / c.Stride);
        return oh < c.OutHeight && ow < c.OutWidth
            ? Doutput[offset + ((((co * c.OutHeight) + oh) * c.OutWidth) + ow)]
            : 0f;
    }
}

/// <summary>Convolution weight gradient op(A): doutput (B, Cout, Ho·Wo) read as (Cout, B·Ho·Wo), element (co, (b, position)); one product.</summary>
internal readonly struct OutputGradientRows : IGemmOperand
{
    public readonly ArrayView<float> Doutput; // (B, Cout, Ho, Wo)
    public readonly Conv2dShape Conv;

    public OutputGradientRows(ArrayView<float> doutput, Conv2dShape conv)
    {
        Doutput = doutput;
        Conv = conv;
    }

    public bool AlongK => true;

    public long Offset(int z) => 0;

    public float Load(long offset, int row, int k)
    {
        var positions = Conv.OutHeight * Conv.OutWidth;
        var image = (long)(k / positions) * Conv.OutChannels * positions;
        return Doutput[image + ((row * positions) + (k % positions))];
    }
}

/// <summary>
/// The output tile of one group: GroupSide² threads, each owning Fragments² blocks of 4x4 outputs, so Side =
/// GroupSide·4·Fragments. A type argument of the kernel, so the sizes are constants there.
/// </summary>
internal interface IGemmTile
{
    int GroupSide { get; }

    int Fragments { get; }
}

/// <summary>128x128 outputs per 16x16 group, 8x8 per thread: 64 FMAs per 4 16-byte shared loads.</summary>
internal readonly struct LargeTile : IGemmTile
{
    public int GroupSide => 16;

    public int Fragments => 2;
}

/// <summary>
/// 32x32 outputs per 8x8 group, 4x4 per thread, for attention's per-head products: with T = 196 tokens and a
/// head size of 32 or 64 the large tile wastes 41–75 % of its work on padding, this one 12–23 %
/// (<see cref="MatMul.WastedWork"/>, checked by MatMulTests).
/// </summary>
internal readonly struct SmallTile : IGemmTile
{
    public int GroupSide => 8;

    public int Fragments => 1;
}

/// <summary>Four floats moved as one 16-byte access: the kernel's shared-memory fragments (ld.shared.v4.f32) and accumulators.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 16, Size = 16)]
internal struct Float4
{
    public float X;
    public float Y;
    public float Z;
    public float W;

    /// <summary>acc + a·b, lane by lane.</summary>
    public static Float4 MultiplyAdd(Float4 acc, float a, Float4 b)
        => new() { X = acc.X + (a * b.X), Y = acc.Y + (a * b.Y), Z = acc.Z + (a * b.Z), W = acc.W + (a * b.W) };
}

/// <summary>
/// One thread's 8x8 accumulators: row i of A fragment f (rows 4f + i) times B fragments Lo and Hi (columns 0–3, 4–7).
/// The small tile uses rows 0–3 of Lo only.
/// </summary>
internal struct Accumulators
{
    public Float4 R0Lo, R0Hi, R1Lo, R1Hi, R2Lo, R2Hi, R3Lo, R3Hi;
    public Float4 R4Lo, R4Hi, R5Lo, R5Hi, R6Lo, R6Hi, R7Lo, R7Hi;

    /// <summary>The 4x4 block of A fragment a0 and B fragment b0 (both tiles).</summary>
    public void Add(Float4 a0, Float4 b0)
    {
        R0Lo = Float4.MultiplyAdd(R0Lo, a0.X, b0);
        R1Lo = Float4.MultiplyAdd(R1Lo, a0.Y, b0);
        R2Lo = Float4.MultiplyAdd(R2Lo, a0.Z, b0);
        R3Lo = Float4.MultiplyAdd(R3Lo, a0.W, b0);
    }

    /// <summary>The other three 4x4 blocks of the large tile: (a0, b1), (a1, b0), (a1, b1).</summary>
    public void AddWide(Float4 a0, Float4 a1, Float4 b0, Float4 b1)
    {
        R0Hi = Float4.MultiplyAdd(R0Hi, a0.X, b1);
        R1Hi = Float4.MultiplyAdd(R1Hi, a0.Y, b1);
        R2Hi = Float4.MultiplyAdd(R2Hi, a0.Z, b1);
        R3Hi = Float4.MultiplyAdd(R3Hi, a0.W, b1);
        R4Lo = Float4.MultiplyAdd(R4Lo, a1.X, b0);
        R4Hi = Float4.MultiplyAdd(R4Hi, a1.X, b1);
        R5Lo = Float4.MultiplyAdd(R5Lo, a1.Y, b0);
        R5Hi = Float4.MultiplyAdd(R5Hi, a1.Y, b1);
        R6Lo = Float4.MultiplyAdd(R6Lo, a1.Z, b0);
        R6Hi = Float4.MultiplyAdd(R6Hi, a1.Z, b1);
        R7Lo = Float4.MultiplyAdd(R7Lo, a1.W, b0);
        R7Hi = Float4.MultiplyAdd(R7Hi, a1.W, b1);
    }
}

/// <summary>Which output tile and product (x, y, z) a group of the blocked kernel computes.</summary>
internal interface ITilePlace
{
    int X { get; }

    int Y { get; }

    int Z { get; }
}

/// <summary>The group's grid index: a product in its own launch.</summary>
internal readonly struct GridTile : ITilePlace
{
    public int X => Grid.IdxX;

    public int Y => Grid.IdxY;

    public int Z => Grid.IdxZ;
}

/// <summary>A product whose groups are the flat grid's First .. First + BlocksX·BlocksY·(products x parts), x fastest.</summary>
internal readonly struct FlatTile(int first, int blocksX, int blocksY) : ITilePlace
{
    public int X => (Grid.IdxX - first) % blocksX;

    public int Y => (Grid.IdxX - first) / blocksX % blocksY;

    public int Z => (Grid.IdxX - first) / (blocksX * blocksY);
}

/// <summary>One product of a grouped launch: the blocked kernel's arguments and its share of the flat grid.</summary>
internal readonly record struct GemmProblem<TA, TB>(ArrayView<float> C, ArrayView<float> Partials, ArrayView<float> Bias, TA A, TB B, GemmShape Shape, GemmLayout Layout, int KPerSplit, int Parts, int BlocksX, int BlocksY)
    where TA : struct, IGemmOperand
    where TB : struct, IGemmOperand
{
    /// <summary>Groups of the flat grid it takes: tiles x products x parts of K (none for an empty product).</summary>
    public int Groups => Shape.M <= 0 || Shape.N <= 0 ? 0 : BlocksX * BlocksY * Layout.Count * Parts;
}

/// <summary>Work a grouped launch runs in the groups after its products: group g of <c>groups</c>, thread t of <c>threads</c>.</summary>
internal interface IGroupWork
{
    void Run(int group, int groups, int thread, int threads);
}

/// <summary>What the blocked kernel does with its outputs once stored: each read back at its index i of C (when <see cref="ReadsBack"/>).</summary>
internal interface IGemmOutput
{
    bool ReadsBack { get; }

    void Stored(long i, float value);
}

/// <summary>Nothing more.</summary>
internal readonly struct StoredOutput : IGemmOutput
{
    public bool ReadsBack => false;

    public void Stored(long i, float value)
    {
    }
}

/// <summary>Activated[i] = gelu(value), as <see cref="Gelu.Forward"/> computes it.</summary>
internal readonly struct GeluOutput(ArrayView<float> activated) : IGemmOutput
{
    public bool ReadsBack => true;

    public void Stored(long i, float value) => activated[i] = Gelu.Apply(value);
}
