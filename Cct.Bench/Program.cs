using System.Globalization;
using Cct.Gpu.Runtime;

namespace Cct.Bench;

/// <summary>
/// Kernel timing harness. "kernels" times every benchmark case on one accelerator; "cpu-shapes"
/// compares shapes of ILGPU's CPU simulator (docs/cpu-accelerator.md).
/// </summary>
internal static class Program
{
    private const string Usage = "usage: cct-bench kernels [--accelerator auto|cuda|opencl|cpu] [--size small|cct] [--json FILE]"
        + " | cct-bench train --model PRESET [--batch 128] [--accelerator A] [--steps 20] [--warmup 5] [--repeats 3] [--profile-steps 3] [--json FILE]"
        + " | cct-bench ops --model PRESET [--batch 128] [--accelerator A]"
        + " | cct-bench cpu-shapes [--shape WARP,WARPS,MPS]..."
        + " | cct-bench ptx --ptxas FILE --cuobjdump FILE --out DIR [--doc FILE] [--check] [--min-ffma-share 0.78] [--min-ffma-share-every 0.35]";

    public static int Main(string[] args)
    {
        if (args is ["--help"] or ["-h"])
        {
            Console.WriteLine(Usage);
            return 0;
        }

        if (args.Length > 0 && args[0] == "ptx")
        {
            if (!PtxArguments.TryParse(args, out var ptxOptions, out var ptxError))
            {
                Console.Error.WriteLine($"cct-bench: {ptxError}; {Usage}");
                return 2;
            }

            return Guarded(() => PtxReport.Run(ptxOptions));
        }

        if (args.Length > 0 && args[0] is ("train" or "ops"))
        {
            if (!TrainArguments.TryParse(args, out var trainOptions, out var trainError))
            {
                Console.Error.WriteLine($"cct-bench: {trainError}; {Usage}");
                return 2;
            }

            return Guarded(() => args[0] == "ops" ? OpsBench.Run(trainOptions) : TrainBench.Run(trainOptions));
        }

        if (!BenchOptions.TryParse(args, out var options, out var error))
        {
            Console.Error.WriteLine($"cct-bench: {error}; {Usage}");
            return 2;
        }

        return Guarded(() => options.Mode == BenchMode.CpuShapes ? CpuShapes.Run(options.Shapes) : KernelBench.Run(options));
    }

    // Expected failures (no such device, unwritable JSON path, a device out of memory) are one line, not a stack trace.
    private static int Guarded(Func<int> run)
    {
        try
        {
            return run();
        }
        catch (Exception e) when (e is AcceleratorUnavailableException or IOException or UnauthorizedAccessException or ILGPU.Runtime.AcceleratorException or OutOfMemoryException)
        {
            Console.Error.WriteLine($"cct-bench: {e.Message}");
            return 1;
        }
    }
}
