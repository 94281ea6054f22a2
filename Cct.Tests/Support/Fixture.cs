using Cct.Gpu.IO;

namespace Cct.Tests.Support;

/// <summary>A committed PyTorch reference file (tools/reference/ops_*.py), tensors named "case.tensor".</summary>
public sealed class Fixture
{
    private readonly SafeTensorsFile file;

    private Fixture(string op, SafeTensorsFile file)
    {
        Op = op;
        this.file = file;
    }

    public string Op { get; }

    public IReadOnlyList<string> Cases => file.Metadata["cases"].Split(',');

    public static Fixture Load(string op)
        => new(op, SafeTensorsFile.Read(Path.Combine(AppContext.BaseDirectory, "Fixtures", op + ".safetensors")));

    /// <summary>Case names, for NUnit's TestCaseSource.</summary>
    public static IEnumerable<string> CasesOf(string op) => Load(op).Cases;

    public float[] Floats(string @case, string tensor) => file[$"{@case}.{tensor}"].ToFloats();

    public double[] Doubles(string @case, string tensor) => file[$"{@case}.{tensor}"].ToDoubles();

    public int[] Ints(string @case, string tensor) => file[$"{@case}.{tensor}"].ToInts();

    public int[] Shape(string @case, string tensor) => file[$"{@case}.{tensor}"].Shape;

    public bool Has(string @case, string tensor) => file.Tensors.ContainsKey($"{@case}.{tensor}");

    public string Meta(string key) => file.Metadata[key];
}
