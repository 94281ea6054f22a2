using Cct.CommandLine;
using Cct.Gpu.Runtime;

namespace Cct.Bench;

/// <summary>
/// Kernel timing harness. "kernels" times every benchmark case on one accelerator; "cpu-shapes"
/// compares shapes of ILGPU's CPU simulator (docs/cpu-accelerator.md).
/// </summary>
internal static class Program
{
    private const string Usage = "usage: cct-bench kernels [--accelerator auto|cuda|opencl|cpu] [--precision fp32|tf32x3|tf32|bf16] [--size small|cct] [--json FILE]"
        + " | cct-bench train --model PRESET [--batch 128] [--accelerator A] [--steps 20] [--warmup 5] [--repeats 3] [--profile-steps 3] [--json FILE] [--attention fused|unfused] [--precision fp32|tf32x3|tf32|bf16] [--cuda-graphs]"
        + " | cct-bench ops --model PRESET [--batch 128] [--accelerator A]"
        + " | cct-bench cpu-shapes [--shape WARP,WARPS,MPS]..."
        + " | cct-bench ptx --ptxas FILE --cuobjdump FILE --out DIR [--doc FILE] [--check] [--min-ffma-share 0.78] [--min-ffma-share-every 0.35] [--min-fused-ffma-share 0.5] [--only NAME-PREFIX]";

    public static int Main(string[] args)
    {
        if (args is ["--help"] or ["-h"])
        {
            Console.WriteLine(Usage);
            return 0;
        }

        Func<int> run;
        try
        {
            run = Parse(args);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"cct-bench: {e.Message}; {Usage}");
            return 2;
        }

        return Guarded(run);
    }

    // The mode's run, its options parsed first so that a bad argument fails before any device starts.
    private static Func<int> Parse(string[] args)
    {
        var options = args.Skip(1).ToList();
        switch (args.FirstOrDefault())
        {
            case "kernels":
                var kernels = BenchArguments.Kernels(options);
                return () => KernelBench.Run(kernels);
            case "cpu-shapes":
                var shapes = BenchArguments.CpuShapes(options);
                return () => CpuShapes.Run(shapes);
            case "train":
                var train = BenchArguments.Train("train", options);
                return () => TrainBench.Run(train);
            case "ops":
                var ops = BenchArguments.Train("ops", options);
                return () => OpsBench.Run(ops);
            case "ptx":
                var ptx = BenchArguments.Ptx(options);
                return () => PtxReport.Run(ptx);
            case null:
                throw new UsageException("missing mode");
            case var mode:
                throw new UsageException($"unknown mode '{mode}'");
        }
    }

    // Expected failures (no such device, unwritable JSON path, a device out of memory) are one line, not a stack trace.
    private static int Guarded(Func<int> run)
    {
        try
        {
            return run();
        }
        catch (Exception e) when (e is AcceleratorUnavailableException or NotSupportedException or IOException or UnauthorizedAccessException or ILGPU.Runtime.AcceleratorException or OutOfMemoryException)
        {
            Console.Error.WriteLine($"cct-bench: {e.Message}");
            return 1;
        }
    }
}
