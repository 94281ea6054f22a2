using Cct.Gpu.IO;
using Cct.Gpu.Runtime;

namespace Cct.Training.Check;

/// <summary>
/// What <c>cct check</c> runs: every kernel forward and backward on a target device against a reference device on
/// the same fixed inputs, then the whole model on the target against the PyTorch fixtures, as table rows.
/// </summary>
public static class DeviceCheck
{
    /// <summary>
    /// Every kernel case, in the variants <paramref name="target"/> runs (the tiled GPU kernels on a GPU), on
    /// <paramref name="target"/> and on <paramref name="reference"/> (the CPU accelerator), one row per output.
    /// A case that throws (a kernel that fails to compile or launch) becomes a failed row and the check goes on.
    /// </summary>
    public static IReadOnlyList<CheckRow> CompareKernels(ComputeDevice target, ComputeDevice reference)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(reference);
        return CompareKernels(target, reference, KernelCases.All(target.Profile.Kernels == KernelFamily.Grouped, target.Profile.Precision));
    }

    /// <summary>The PyTorch model fixtures a build of cct carries: check-fixtures/ beside the application.</summary>
    public static string DefaultFixtureFolder => ModelParity.DefaultFolder;

    /// <summary>Reads every model fixture from <paramref name="folder"/>, so a missing one is an error before any kernel runs.</summary>
    /// <exception cref="FileNotFoundException">a fixture is missing (one line naming it)</exception>
    /// <exception cref="IOException">a fixture is unreadable</exception>
    public static IReadOnlyList<(string Name, SafeTensorsFile File)> LoadModelFixtures(string folder)
        => ModelParity.Fixtures.Select(name => (name, ModelParity.Load(folder, name))).ToList();

    /// <summary>
    /// Every case on <paramref name="target"/> and on <paramref name="reference"/>, one row per output.
    /// A case that throws (a kernel that fails to compile or launch) becomes a failed row and the
    /// check goes on, so one broken kernel does not hide the state of the others.
    /// </summary>
    internal static IReadOnlyList<CheckRow> CompareKernels(ComputeDevice target, ComputeDevice reference, IEnumerable<KernelCase> cases)
    {
        var rows = new List<CheckRow>();
        foreach (var kernelCase in cases)
        {
            var actual = Execute(target, kernelCase, out var targetError);
            var expected = Execute(reference, kernelCase, out var referenceError);
            if (actual is null || expected is null)
            {
                var note = actual is null ? $"throws on {Describe(target)}: {targetError}" : $"throws on the reference {Describe(reference)}: {referenceError}";
                rows.Add(CheckRow.Failed(kernelCase.Name, Tolerance.Elementwise, note));
                continue;
            }

            foreach (var output in expected)
            {
                var op = $"{kernelCase.Name}: {output.Name}";
                var match = actual.FirstOrDefault(a => a.Name == output.Name);
                rows.Add(match is null
                    ? CheckRow.Failed(op, output.Tolerance, "no such output on the target")
                    : Comparison.Compare(op, match.Values, output.Values, output.Tolerance));
            }
        }

        return rows;
    }

    /// <summary>
    /// The whole model on <paramref name="target"/> against each PyTorch fixture (<see cref="LoadModelFixtures"/>): one
    /// training step and five AdamW steps, comparing logits, loss, gradients and parameters with PyTorch's float64 values.
    /// </summary>
    public static IReadOnlyList<CheckRow> CompareModels(ComputeDevice target, IEnumerable<(string Name, SafeTensorsFile File)> fixtures)
    {
        ArgumentNullException.ThrowIfNull(fixtures);
        var rows = new List<CheckRow>();
        foreach (var (name, file) in fixtures)
        {
            try
            {
                rows.AddRange(ModelParity.Run(target, name, file));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                rows.Add(CheckRow.Failed($"{name}: model", Tolerance.Model, $"throws on {Describe(target)}: {FirstLine(e)}"));
            }
        }

        return rows;
    }

    /// <summary>A device as the check names it: its kind and name, e.g. "cuda (NVIDIA H200)".</summary>
    public static string Describe(ComputeDevice device) => $"{device.Kind.ToString().ToLowerInvariant()} ({device.Name})";

    private static IReadOnlyList<CheckOutput>? Execute(ComputeDevice device, KernelCase kernelCase, out string? error)
    {
        try
        {
            using var scope = new DeviceScope(device);
            error = null;
            return kernelCase.Run(scope);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Any failure of a kernel (ILGPU compile errors, CUDA launch errors, argument checks) is a result here.
            error = FirstLine(e);
            return null;
        }
    }

    private static string FirstLine(Exception e) => $"{e.GetType().Name}: {e.Message.Split('\n')[0].Trim()}";
}
