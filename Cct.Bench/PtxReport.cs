using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Cct.Gpu.Runtime;
using ILGPU.Runtime.Cuda;

namespace Cct.Bench;

/// <summary>
/// "ptx": what an H100 would run, with no GPU. Every kernel of <see cref="KernelCatalog"/> is compiled to sm_90
/// PTX, assembled by NVIDIA's ptxas (registers, spills, shared memory) and disassembled by cuobjdump; the
/// innermost SASS loop with the most FFMA gives a GEMM's instruction mix. tools/ptx-report.sh fetches the two
/// binaries and runs this; with --check it fails on a spill, on fp64, when the best GEMM K loop's FFMA share
/// falls below --min-ffma-share, or any GEMM's below --min-ffma-share-every, or an inner product loop of fused
/// attention below --min-fused-ffma-share (CI's ratchets), and when a tensor-core
/// kernel (<see cref="KernelCatalog.IsTensorCore"/>) has no HMMA in its SASS, any LDL/STL, a stack frame, or
/// <c>.local</c> in its PTX: inline-PTX fragments that fall into local memory cost more than the tensor cores gain. It
/// also fails when a tensor-core K step holds more than <see cref="MaxStepNops"/> NOPs: ptxas pads mma that wait on the
/// one before them (3xTF32 attention's terms issued back to back into one accumulator put 121, 70 and 65 NOPs in its
/// three kernels' steps; issued a term at a time across the tiles, 1 each).
/// </summary>
internal static partial class PtxReport
{
    // Every tensor-core K step holds 1 NOP (ptxas 11.8, sm_90, 2026-12-07); a chain of dependent mma puts dozens there.
    private const int MaxStepNops = 4;

    // H100 (sm_90) per SM: registers, shared memory a kernel can use, resident threads and groups.
    private const int RegistersPerSm = 65536;
    private const int SharedPerSm = 228 * 1024;
    private const int ReservedSharedPerGroup = 1024;
    private const int ThreadsPerSm = 2048;
    private const int GroupsPerSm = 32;
    private const int RegisterAllocationUnit = 256; // registers are allocated per warp in units of 256

    // Explicitly grouped kernels choose their group size at launch; the table takes it from the kernel's CUDA
    // specialisation where it has one (MatMul's), and otherwise assumes 256 threads, the size BatchNorm2d launches.
    // Implicitly grouped kernels get the occupancy-maximising size, as ILGPU's auto-grouping asks the driver for.
    private const int AssumedExplicitGroup = 256;

    // A loop with fewer FFMA than this is not a GEMM's K loop.
    private const int GemmLoopMinFfma = 64;

    // Fused attention's inner loops (a tile's score dot products, its P·V or dk/dv sums) hold 32 FFMA a pass at head
    // size 64; loops with fewer are its staging and softmax, not its products.
    private const int FusedLoopMinFfma = 16;
    private const string FusedPrefix = "FlashAttention.";

    public const string DocBegin = "<!-- ptx-report:begin -->";
    public const string DocEnd = "<!-- ptx-report:end -->";

    public static int Run(PtxOptions options)
    {
        Directory.CreateDirectory(options.OutputDirectory);
        using var compiler = new KernelCompiler();
        var rows = new List<KernelRow>();
        foreach (var kernel in KernelCatalog.All().Where(k => options.Only is null || KernelCatalog.NameOf(k).StartsWith(options.Only, StringComparison.Ordinal)))
        {
            var name = KernelCatalog.NameOf(kernel);
            var file = Path.Combine(options.OutputDirectory, FileNameOf(name));
            var ptx = compiler.Ptx(kernel, CudaArchitecture.SM_90);
            File.WriteAllText(file + ".ptx", ptx);
            var assembled = RunTool(options.Ptxas, $"-arch=sm_90 -v -o \"{file}.cubin\" \"{file}.ptx\"");
            var sass = RunTool(options.Cuobjdump, $"-sass \"{file}.cubin\"");
            File.WriteAllText(file + ".sass", sass);
            rows.Add(Analyse(name, KernelCatalog.IsImplicitlyGrouped(kernel), KernelCatalog.SpecializationOf(kernel).MaxNumThreadsPerGroup, ptx, assembled, sass)
                with
                {
                    TensorCore = KernelCatalog.IsTensorCore(kernel) ? TensorCoreMix(ptx, assembled, sass) : null,
                    OpenClCpuOnly = KernelCatalog.IsRegisterTile(kernel),
                    FusedLoops = name.StartsWith(FusedPrefix, StringComparison.Ordinal) ? [.. InnermostLoops(sass).Where(l => l.Ffma >= FusedLoopMinFfma)] : null,
                });
        }

        var table = Table(rows);
        Console.Write(table);
        if (options.DocPath is not null)
        {
            WriteIntoDoc(options.DocPath, table);
        }

        return options.Check ? Check(rows, options.MinFfmaShare, options.MinFfmaShareEvery, options.MinFusedFfmaShare, options.Only is null) : 0;
    }

    private static KernelRow Analyse(string name, bool implicitlyGrouped, int? specialisedGroup, string ptx, string ptxasOutput, string sass)
    {
        int Number(Regex pattern) => pattern.Match(ptxasOutput) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var registers = Number(RegistersUsed());
        var spills = Number(SpillStores()) + Number(SpillLoads());
        var shared = (int)KernelCompiler.SharedBytes(ptx);
        var doubles = KernelCompiler.DoublePrecisionLines(ptx).Count;
        var group = specialisedGroup ?? (implicitlyGrouped ? BestGroup(registers, shared) : AssumedExplicitGroup);
        return new KernelRow(name, registers, spills, shared, doubles, group, Occupancy(registers, shared, group), HottestLoop(sass));
    }

    // Theoretical occupancy: resident warps per SM over the 64 an SM holds, limited by registers, shared memory,
    // threads and groups per SM.
    private static double Occupancy(int registers, int shared, int groupThreads)
    {
        var warpsPerGroup = (groupThreads + 31) / 32;
        var registersPerWarp = (((Math.Max(1, registers) * 32) + RegisterAllocationUnit - 1) / RegisterAllocationUnit) * RegisterAllocationUnit;
        var groupsByRegisters = RegistersPerSm / registersPerWarp / warpsPerGroup;
        var groupsByShared = shared == 0 ? GroupsPerSm : SharedPerSm / (shared + ReservedSharedPerGroup);
        var groups = Math.Min(Math.Min(groupsByRegisters, groupsByShared), Math.Min(GroupsPerSm, ThreadsPerSm / (warpsPerGroup * 32)));
        return groups * warpsPerGroup / (ThreadsPerSm / 32.0);
    }

    private static int BestGroup(int registers, int shared)
        => Enumerable.Range(1, 32).Select(w => w * 32).MaxBy(g => (Occupancy(registers, shared, g), g));

    // The innermost loop with the most FFMA (the first of equals): a GEMM's K loop when it has enough.
    private static LoopMix? HottestLoop(string sass)
        => InnermostLoops(sass).MaxBy(l => l.Ffma) is { Ffma: >= GemmLoopMinFfma } best ? best : null;

    // Each innermost loop (a backward branch whose body holds no other backward branch), in address order.
    private static List<LoopMix> InnermostLoops(string sass)
    {
        var instructions = new List<(int Address, string Opcode, int? BranchTarget)>();
        foreach (Match m in SassLine().Matches(sass))
        {
            var address = int.Parse(m.Groups["address"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var opcode = m.Groups["opcode"].Value;
            int? target = m.Groups["target"].Success ? int.Parse(m.Groups["target"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture) : null;
            instructions.Add((address, opcode, target));
        }

        var loops = instructions
            .Where(i => i.Opcode == "BRA" && i.BranchTarget is int t && t <= i.Address)
            .Select(i => (Begin: i.BranchTarget!.Value, End: i.Address))
            .ToList();
        var innermost = loops.Where(l => !loops.Any(o => o != l && o.Begin >= l.Begin && o.End <= l.End && (o.Begin, o.End) != (l.Begin, l.End)));
        var mixes = new List<LoopMix>();
        foreach (var (begin, end) in innermost.OrderBy(l => l.Begin))
        {
            var body = instructions.Where(i => i.Address >= begin && i.Address <= end).Select(i => i.Opcode).ToList();
            mixes.Add(new LoopMix(body.Count, body.Count(o => o == "FFMA"), body.Count(o => o.StartsWith("LDS", StringComparison.Ordinal)), body.Count(o => o == "LDS.128")) { Begin = begin });
        }

        return mixes;
    }

    // A tensor-core kernel's SASS: HMMA, local-memory accesses and stack frame over the whole kernel, and the mix of the
    // shortest loop with the most HMMA (its K step).
    private static TensorCoreRow TensorCoreMix(string ptx, string ptxasOutput, string sass)
    {
        var opcodes = SassLine().Matches(sass).Select(m => m.Groups["opcode"].Value).ToList();
        var instructions = SassLine().Matches(sass)
            .Select(m => (Address: int.Parse(m.Groups["address"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture), Opcode: m.Groups["opcode"].Value,
                Target: m.Groups["target"].Success ? int.Parse(m.Groups["target"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture) : (int?)null))
            .ToList();
        var loops = instructions.Where(i => i.Opcode == "BRA" && i.Target is int t && t <= i.Address).Select(i => (Begin: i.Target!.Value, End: i.Address)).ToList();
        // The shortest of the loops with the most HMMA: a GEMM's K loop, or fused attention's key loop, which holds the
        // staging loops (no HMMA) inside it.
        var bodies = loops.Select(l => instructions.Where(i => i.Address >= l.Begin && i.Address <= l.End).Select(i => i.Opcode).ToList()).ToList();
        var most = bodies.Count == 0 ? 0 : bodies.Max(body => body.Count(IsHmma));
        var step = bodies.Where(body => body.Count(IsHmma) == most).MinBy(body => body.Count) ?? [];
        return new TensorCoreRow(
            opcodes.Count(IsHmma),
            step.Count(IsHmma),
            step.Count(o => o.StartsWith("LDSM", StringComparison.Ordinal)),
            opcodes.Count(o => o.StartsWith("LDGSTS", StringComparison.Ordinal)),
            opcodes.Count(o => o.StartsWith("LDL", StringComparison.Ordinal) || o.StartsWith("STL", StringComparison.Ordinal)),
            StackFrame().Match(ptxasOutput) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            ptx.Split('\n').Count(l => l.Contains(".local", StringComparison.Ordinal)),
            step.Count,
            step.Count(o => o == "NOP"));

        static bool IsHmma(string opcode) => opcode.StartsWith("HMMA", StringComparison.Ordinal);
    }

    private static string TensorCoreTable(IReadOnlyList<KernelRow> rows)
    {
        var text = new StringBuilder();
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Tensor-core kernels (inline PTX; --check fails on no HMMA, any LDL/STL, a stack frame or `.local` in the PTX, or more than {MaxStepNops} NOPs in the K step):");
        text.AppendLine();
        text.AppendLine("| kernel | registers | HMMA, all | K step: instructions | K step: HMMA | K step: LDSM | K step: NOP | LDGSTS, all | LDL+STL, all | stack B | `.local` lines |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows.Where(r => r.TensorCore is not null))
        {
            var t = r.TensorCore!;
            text.AppendLine(CultureInfo.InvariantCulture, $"| {r.Name} | {r.Registers} | {t.Hmma} | {t.StepInstructions} | {t.StepHmma} | {t.StepLdsm} | {t.StepNops} | {t.Ldgsts} | {t.LocalAccesses} | {t.StackBytes} | {t.PtxLocalLines} |");
        }

        return text.ToString();
    }

    private static string FusedLoopTable(IReadOnlyList<KernelRow> rows)
    {
        var text = new StringBuilder();
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Fused attention's inner loops (every innermost loop of at least {FusedLoopMinFfma} FFMA, in address order; --check fails on one below --min-fused-ffma-share):");
        text.AppendLine();
        text.AppendLine("| kernel | loop at | instructions | FFMA | FFMA share | LDS |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var r in rows.Where(r => r.FusedLoops is not null))
        {
            foreach (var l in r.FusedLoops!)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"| {r.Name} | 0x{l.Begin:x} | {l.Instructions} | {l.Ffma} | {l.FfmaShare:P1} | {l.Lds} |");
            }
        }

        return text.ToString();
    }

    private static string Table(IReadOnlyList<KernelRow> rows)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{rows.Count} kernels, sm_90 (ptxas 11.8 -v; occupancy on H100: 65,536 registers, 228 KiB shared, 2,048 threads and 32 groups per SM; explicitly grouped kernels at their specialised group size or {AssumedExplicitGroup} threads, auto-grouped ones at their best size).");
        text.AppendLine();
        text.AppendLine("| kernel | registers | spill bytes | shared B | fp64 lines | group | occupancy | K loop: instructions | FFMA | FFMA share | LDS per FFMA | LDS.128 |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in rows)
        {
            var loop = r.Loop is { } l
                ? string.Create(CultureInfo.InvariantCulture, $"{l.Instructions} | {l.Ffma} | {l.FfmaShare:P1} | 1/{l.Ffma / (double)Math.Max(1, l.Lds):0.#} | {(l.Lds128 > 0 ? $"yes ({l.Lds128})" : "no")}")
                : " | | | | ";
            text.AppendLine(CultureInfo.InvariantCulture, $"| {r.Name}{(r.OpenClCpuOnly ? " (OpenCL CPU only)" : "")} | {r.Registers} | {r.SpillBytes} | {r.SharedBytes} | {r.DoubleLines} | {r.Group} | {r.Occupancy:P0} | {loop} |");
        }

        if (rows.Any(r => r.TensorCore is not null))
        {
            text.Append(TensorCoreTable(rows));
        }

        if (rows.Any(r => r.FusedLoops is { Count: > 0 }))
        {
            text.Append(FusedLoopTable(rows));
        }

        return text.ToString();
    }

    private static void WriteIntoDoc(string path, string table)
    {
        var doc = File.ReadAllText(path);
        var begin = doc.IndexOf(DocBegin, StringComparison.Ordinal);
        var end = doc.IndexOf(DocEnd, StringComparison.Ordinal);
        if (begin < 0 || end < begin)
        {
            throw new IOException($"{path} has no {DocBegin} ... {DocEnd} section for the table");
        }

        var updated = string.Concat(doc.AsSpan(0, begin + DocBegin.Length), "\n", table, doc.AsSpan(end));
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, updated);
        File.Move(temporary, path, overwrite: true);
    }

    private static int Check(IReadOnlyList<KernelRow> rows, double minFfmaShare, double minFfmaShareEvery, double minFusedFfmaShare, bool allKernels)
    {
        var failures = new List<string>();
        failures.AddRange(rows.Where(r => r.FusedLoops is not null).SelectMany(r => r.FusedLoops!.Where(l => l.FfmaShare < minFusedFfmaShare).Select(l =>
            string.Create(CultureInfo.InvariantCulture, $"{r.Name}'s loop at 0x{l.Begin:x} is {l.FfmaShare:P1} FFMA, below the floor of {minFusedFfmaShare:P1}"))));
        if (allKernels && !rows.Any(r => r.TensorCore is not null))
        {
            failures.Add("no tensor-core kernel ([TensorCoreKernels]) was found in the catalog");
        }

        foreach (var r in rows.Where(r => r.TensorCore is not null))
        {
            var t = r.TensorCore!;
            if (t.Hmma == 0 || t.LocalAccesses > 0 || t.StackBytes > 0 || t.PtxLocalLines > 0)
            {
                failures.Add($"tensor-core kernel {r.Name}: {t.Hmma} HMMA (needs > 0), {t.LocalAccesses} LDL/STL, {t.StackBytes}-byte stack frame, {t.PtxLocalLines} .local lines in its PTX (all need 0)");
            }

            if (t.StepNops > MaxStepNops)
            {
                failures.Add($"tensor-core kernel {r.Name}: {t.StepNops} NOPs in its K step (at most {MaxStepNops}): its mma wait on each other; issue independent accumulators' mma between them");
            }
        }

        failures.AddRange(rows.Where(r => r.SpillBytes > 0 && !r.OpenClCpuOnly).Select(r => $"{r.Name} spills {r.SpillBytes} bytes"));
        failures.AddRange(rows.Where(r => r.DoubleLines > 0).Select(r => $"{r.Name} has {r.DoubleLines} fp64 lines in its PTX"));
        // Two ratchets: the dense GEMM (the best K loop) must keep its FFMA share, and no GEMM instantiation
        // (gathers, dropout, small tiles) may fall below the floor.
        var gemms = rows.Where(r => r.Name.StartsWith("MatMul.BlockedKernel", StringComparison.Ordinal) && r.Loop is not null).ToList();
        if (gemms.Count == 0)
        {
            // With --only the blocked GEMMs may be filtered out: nothing to ratchet.
            if (allKernels)
            {
                failures.Add("no MatMul.BlockedKernel with a K loop of at least 64 FFMA was found");
            }
        }
        else
        {
            var best = gemms.MaxBy(r => r.Loop!.FfmaShare)!;
            if (best.Loop!.FfmaShare < minFfmaShare)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"the best GEMM K loop ({best.Name}) is {best.Loop.FfmaShare:P1} FFMA, below the ratchet of {minFfmaShare:P1}"));
            }

            failures.AddRange(gemms.Where(r => r.Loop!.FfmaShare < minFfmaShareEvery).Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Name}'s K loop is {r.Loop!.FfmaShare:P1} FFMA, below the floor of {minFfmaShareEvery:P1}")));
        }

        foreach (var failure in failures)
        {
            Console.Error.WriteLine($"cct-bench ptx: {failure}");
        }

        Console.WriteLine(failures.Count == 0 ? "ptx check: no spills in the kernels CUDA launches, no fp64, GEMM and fused-attention FFMA shares at or above the ratchets, tensor-core kernels on HMMA with no local memory and no mma chains" : $"ptx check: {failures.Count} failure(s)");
        return failures.Count == 0 ? 0 : 1;
    }

    private static string RunTool(string tool, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(tool, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new IOException($"could not start {tool}");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var all = stdout + stderr.Result;
        if (process.ExitCode != 0)
        {
            throw new IOException($"{Path.GetFileName(tool)} {arguments} failed: {all.Trim()}");
        }

        return all;
    }

    private static string FileNameOf(string kernelName) => FileNameUnsafe().Replace(kernelName, "_");

    [GeneratedRegex(@"Used (\d+) registers")]
    private static partial Regex RegistersUsed();

    [GeneratedRegex(@"(\d+) bytes spill stores")]
    private static partial Regex SpillStores();

    [GeneratedRegex(@"(\d+) bytes spill loads")]
    private static partial Regex SpillLoads();

    [GeneratedRegex(@"(\d+) bytes stack frame")]
    private static partial Regex StackFrame();

    // "/*0d90*/                   @!P0 BRA 0x3c0 ;" → address, opcode (with modifiers), branch target.
    [GeneratedRegex(@"/\*(?<address>[0-9a-f]{4,})\*/\s+(?:@!?U?P\w+\s+)?(?<opcode>[A-Z][A-Z0-9_.]*)(?:\s+(?:`\(\.L_x_\d+\)|0x(?<target>[0-9a-f]+))\s*;)?")]
    private static partial Regex SassLine();

    [GeneratedRegex(@"[^A-Za-z0-9_.-]")]
    private static partial Regex FileNameUnsafe();

    private sealed record LoopMix(int Instructions, int Ffma, int Lds, int Lds128)
    {
        public double FfmaShare => Ffma / (double)Math.Max(1, Instructions);

        /// <summary>The loop's first SASS address.</summary>
        public int Begin { get; init; }
    }

    private sealed record KernelRow(string Name, int Registers, int SpillBytes, int SharedBytes, int DoubleLines, int Group, double Occupancy, LoopMix? Loop)
    {
        public TensorCoreRow? TensorCore { get; init; }

        /// <summary>A <see cref="RegisterTileKernelsAttribute"/> kernel: CUDA never launches it, so its spills are listed, not failed.</summary>
        public bool OpenClCpuOnly { get; init; }

        /// <summary>A fused-attention kernel's inner product loops; null for every other kernel.</summary>
        public IReadOnlyList<LoopMix>? FusedLoops { get; init; }
    }

    // HMMA and local-memory accesses over the whole SASS, the stack frame ptxas reports, `.local` lines of the PTX, and the
    // K step's (the shortest loop with the most HMMA) instructions, HMMA, LDSM and NOPs; LDGSTS (cp.async) over the whole kernel.
    private sealed record TensorCoreRow(int Hmma, int StepHmma, int StepLdsm, int Ldgsts, int LocalAccesses, int StackBytes, int PtxLocalLines, int StepInstructions, int StepNops);
}
