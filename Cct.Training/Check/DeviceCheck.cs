using Cct.Gpu.Runtime;

namespace Cct.Training.Check;

/// <summary>Runs the kernel cases on a target and a reference device, and the model fixtures on the target, into table rows.</summary>
internal static class DeviceCheck
{
    /// <summary>
    /// Every case on <paramref name="target"/> and on <paramref name="reference"/>, one row per output.
    /// A case that throws (a kernel that fails to compile or launch) becomes a failed row and the
    /// check goes on, so one broken kernel does not hide the state of the others.
    /// </summary>
    public static IReadOnlyList<CheckRow> CompareKernels(ComputeDevice target, ComputeDevice reference, IEnumerable<KernelCase> cases)
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

    /// <summary>The whole model on <paramref name="target"/> against each loaded PyTorch fixture.</summary>
    public static IReadOnlyList<CheckRow> CompareModels(ComputeDevice target, IEnumerable<(string Name, Gpu.IO.SafeTensorsFile File)> fixtures)
    {
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
