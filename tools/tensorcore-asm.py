#!/usr/bin/env python3
# Generates Cct.Gpu/Gemm/TensorCoreAsm.cs: the inline-PTX const strings of TensorCoreGemm, which ILGPU needs as
# compile-time constants, unrolled here once. Offsets are TensorCoreGemm's shared layout (below); check the result with
# tools/tensorcore-emulate.py, which runs these strings thread by thread.
# usage: python3 tools/tensorcore-asm.py > Cct.Gpu/Gemm/TensorCoreAsm.cs
#
# Tile: 128x128 per group of 8 warps (2 along M x 4 along N), each warp 64x32 = 4x4 mma tiles of 16x8; K step 16.
# Every operand is staged as shared [128 rows][20] floats with k contiguous (80-byte rows: ldmatrix.x4's eight row reads
# of a matrix fall on distinct bank quads), whichever way it lies in global memory:
#   KRows: (rows, k) with k contiguous (a Linear's input and weight in the forward): a thread's 16-byte load is 4 k of a
#          row, stored as one st.shared.v4;
#   KCols: (k, rows) with rows contiguous (the weight in dinput, doutput and input in dweight): a thread's load is 4 rows
#          at one k, transposed into 4 st.shared.b32 (lanes spread over 8 k and 4 row groups: 2-way bank conflicts).
# So one step (ldmatrix + mma) serves every form; only the staging differs.
# Terms: 3 (3xTF32: small·big + big·small + big·big, fp32-accurate) or 1 (big·big: TF32), or BF16: operands rounded to
# bfloat16 (cvt.rn.bf16x2.f32, two k a 32-bit word) in shared [128 rows][24] b16 (16 k + 8 padding: 48-byte rows, whose
# eight ldmatrix row reads fall on distinct bank quads), and mma.m16n8k16.bf16, one a K step of 16. A KCols thread loads
# 4 rows at k and k + 1 (not k + 8), so that it can pack its pairs along k.
# Shared memory: a's big parts at 0, a's small at 10,240, b's big at 20,480, b's small at 30,720 (a region holds either layout).
# Terms: 3 (3xTF32: small·big + big·small + big·big, fp32-accurate) or 1 (big·big: TF32).
from ptx_strings import cs, regs

REGION = 10240
A_SMALL, B_BIG, B_SMALL = REGION, 2 * REGION, 3 * REGION
SHARED = 4 * REGION
KROWS_STRIDE = 20
MT, NT = 4, 4                  # mma tiles per warp along M and N
ACC = 4 * MT * NT
SECOND = {"KRows": 64 * KROWS_STRIDE * 4, "KCols": 8 * 4}  # shared bytes to a thread's second load: 64 rows or 8 k further
FORMS = [("Forward", "KRows", "KRows"), ("InputGradient", "KRows", "KCols"), ("WeightGradient", "KCols", "KCols")]
MMA = "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32"
LDSM = "ldmatrix.sync.aligned.m8n8.x4.shared.b16"


BF16_STRIDE = 48               # bytes per bf16 shared row
BF16_SECOND = {"KRows": 64 * BF16_STRIDE, "KCols": 0}  # (KCols: both loads go to the same word, lower and upper half)
MMA_BF16 = "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"


def v4(p, j):
    return regs(p, 4 * j)


def init():
    lines = [f".shared .align 16 .b8 tc_smem[{SHARED}];", f".reg .f32 tc_c<{ACC}>;", ".reg .f32 tc_x<16>;"]
    return lines + [f"mov.f32 tc_c{i}, 0f00000000;" for i in range(ACC)]


def load(operand):
    # The next slice of one operand into its half of tc_x (a: tc_x0..7, b: tc_x8..15): %0, %1 its two 16-byte global
    # addresses, %2 a mask: load j reads only when bit j is set, else its four registers are zero (rows past the matrix,
    # k past the end).
    lines = ["{", ".reg .pred p;", ".reg .b32 f;"]
    first = 0 if operand == "a" else 2
    for j in range(2):
        lines += [f"mov.f32 tc_x{4*(first+j)+q}, 0f00000000;" for q in range(4)]
        lines += [f"and.b32 f, %2, {1 << j};", "setp.ne.b32 p, f, 0;", f"@p ld.global.nc.v4.f32 {v4('tc_x', first + j)}, [%{j}];"]
    return lines + ["}"]


def stage(form, fa, fb, terms):
    # Splits the slice in tc_x into TF32 big (and small) parts and stores them: %0 a's and %1 b's byte offset in their region.
    lines = ["{", ".reg .b32 hi<16>;", ".reg .u32 s, t;"]
    if terms == 3:
        lines[1:1] = [".reg .f32 d<16>;", ".reg .b32 lo<16>;"]
    lines += [f"cvt.rna.tf32.f32 hi{e}, tc_x{e};" for e in range(16)]
    if terms == 3:
        lines += [f"sub.f32 d{e}, tc_x{e}, hi{e};" for e in range(16)]
        lines += [f"cvt.rna.tf32.f32 lo{e}, d{e};" for e in range(16)]
    lines += ["mov.u32 s, tc_smem;", f"add.u32 t, s, {B_BIG};", "add.u32 s, s, %0;", "add.u32 t, t, %1;"]
    for reg, layout, j0 in [("s", fa, 0), ("t", fb, 2)]:
        for half in range(2):
            at = SECOND[layout] * half
            for part, offset in [("hi", 0)] + ([("lo", A_SMALL)] if terms == 3 else []):
                if layout == "KRows":
                    lines.append(f"st.shared.v4.b32 [{reg}+{at + offset}], {v4(part, j0 + half)};")
                else:
                    # Element q is row q further: 80 bytes.
                    lines += [f"st.shared.b32 [{reg}+{at + offset + q * KROWS_STRIDE * 4}], {part}{4 * (j0 + half) + q};" for q in range(4)]
    return lines + ["}"]


def row_mma(terms, i, columns):
    # Row i of the warp tile's mmas (its column tiles in `columns`) on the fragments in registers.
    lines = []
    pairs = [("alo", "bhi"), ("ahi", "blo"), ("ahi", "bhi")] if terms == 3 else [("ahi", "bhi")]
    for jn in columns:
        c = 4 * (NT * i + jn)
        acc = "{" + ", ".join(f"tc_c{c+q}" for q in range(4)) + "}"
        b0 = 4 * (jn // 2) + 2 * (jn % 2)
        for ap, bp in pairs:
            lines.append(f"{MMA} {acc}, {v4(ap, i)}, {{{bp}{b0}, {bp}{b0+1}}}, {acc};")
    return lines


def fragments(operand, parts, s, tiles=None):
    # The k half s of the warp's fragments of one operand, by ldmatrix.x4: a (4 tiles of 16 rows x 8 k, registers
    # p0..p15) or b (4 tiles of 8 k x 8 n in 2 loads, registers p0..p7 with tile jn's b0, b1 at 4·(jn/2) + 2·(jn%2), +1).
    lines = []
    reg = "sa" if operand == "a" else "sb"
    for p, off in parts:
        for t in (tiles if tiles is not None else range(MT if operand == "a" else NT // 2)):
            lines.append(f"{LDSM} {v4(operand + p, t)}, [{reg}+{off + 16 * KROWS_STRIDE * 4 * t + 32 * s}];")
    return lines


def step(terms):
    # Both k halves of a K step: %0 the lane's a fragment offset in a's region, %1 its b offset in b's. The k half's b
    # fragments first, then row by row a's fragments of that row and its mmas, so that only one row's a fragments are
    # live at a time (8 registers in 3xTF32, not 32).
    regs = [f"ahi<{4*MT}>", f"bhi<{2*NT}>"] + ([f"alo<{4*MT}>", f"blo<{2*NT}>"] if terms == 3 else [])
    lines = ["{", ".reg .b32 " + ", ".join(regs) + ";", ".reg .u32 sa, sb;", "mov.u32 sa, tc_smem;",
             f"add.u32 sb, sa, {B_BIG};", "add.u32 sa, sa, %0;", "add.u32 sb, sb, %1;"]
    parts = [("hi", 0)] + ([("lo", A_SMALL)] if terms == 3 else [])
    for s in range(2):
        lines += fragments("b", parts, s)
        for i in range(MT):
            lines += fragments("a", parts, s, tiles=[i])
            lines += row_mma(terms, i, range(NT))
    return lines + ["}"]


def store(kind):
    # The accumulators to c. %0 the address of row g (lane / 4) of the warp's block at the lane's first column, %1 the
    # bytes of 8 rows, %2 the rows left from row g (rows g + 8·h are stored while 8·h < %2), %3 the columns left from the
    # lane's first column (column pair 8·j stored while 8·j < %3), %4 the bias at that column (Bias only).
    # Plain stores, Add adds to c (c += a·b), Bias adds bias[column].
    lines = ["{", ".reg .b64 r;", ".reg .pred pr, p, pc<4>;"]
    if kind != "Plain":
        lines.append(".reg .f32 v<2>;")
    if kind == "Bias":
        lines.append(f".reg .f32 bias<{2*NT}>;")
    lines.append("mov.b64 r, %0;")
    lines += [f"setp.gt.s32 pc{j}, %3, {8*j};" for j in range(NT)]
    if kind == "Bias":
        for j in range(NT):
            lines += [f"mov.f32 bias{2*j}, 0f00000000;", f"mov.f32 bias{2*j+1}, 0f00000000;",
                      f"@pc{j} ld.global.nc.v2.f32 {{bias{2*j}, bias{2*j+1}}}, [%4+{32*j}];"]
    for h in range(2 * MT):
        if h:
            lines.append("add.s64 r, r, %1;")
        lines.append(f"setp.gt.s32 pr, %2, {8*h};")
        i, half = divmod(h, 2)
        for jn in range(NT):
            c = 4 * (NT * i + jn) + 2 * half
            lines.append(f"and.pred p, pr, pc{jn};")
            if kind == "Plain":
                lines.append(f"@p st.global.v2.f32 [r+{32*jn}], {{tc_c{c}, tc_c{c+1}}};")
            elif kind == "Add":
                lines += [f"@p ld.global.v2.f32 {{v0, v1}}, [r+{32*jn}];", f"add.f32 v0, v0, tc_c{c};",
                          f"add.f32 v1, v1, tc_c{c+1};", f"@p st.global.v2.f32 [r+{32*jn}], {{v0, v1}};"]
            else:
                lines += [f"add.f32 v0, tc_c{c}, bias{2*jn};", f"add.f32 v1, tc_c{c+1}, bias{2*jn+1};",
                          f"@p st.global.v2.f32 [r+{32*jn}], {{v0, v1}};"]
    return lines + ["}"]


def stage_bf16(fa, fb):
    # Rounds the slice in tc_x to bf16 pairs along k and stores them: %0 a's and %1 b's byte offset in their region.
    # KRows: tc_x 4j..4j+3 are 4 consecutive k of a row (load j: rows r and r + 64), stored as two words. KCols: tc_x
    # 4j+q is row q's element at k (j = 0) and at k + 1 (j = 1): pair (k, k + 1) of each of the 4 rows is one word.
    lines = ["{", ".reg .b32 w<8>;", ".reg .u32 s, t;", "mov.u32 s, tc_smem;", f"add.u32 t, s, {B_BIG};",
             "add.u32 s, s, %0;", "add.u32 t, t, %1;"]
    for reg, layout, base in [("s", fa, 0), ("t", fb, 8)]:
        words = base // 2
        if layout == "KRows":
            for j in range(2):
                x = base + 4 * j
                lines += [f"cvt.rn.bf16x2.f32 w{words + 2*j}, tc_x{x+1}, tc_x{x};", f"cvt.rn.bf16x2.f32 w{words + 2*j + 1}, tc_x{x+3}, tc_x{x+2};",
                          f"st.shared.v2.b32 [{reg}+{BF16_SECOND['KRows'] * j}], {{w{words + 2*j}, w{words + 2*j + 1}}};"]
        else:
            for q in range(4):
                lines += [f"cvt.rn.bf16x2.f32 w{words + q}, tc_x{base + 4 + q}, tc_x{base + q};",
                          f"st.shared.b32 [{reg}+{q * BF16_STRIDE}], w{words + q};"]
    return lines + ["}"]


def step_bf16():
    # A K step of 16: %0 the lane's a fragment offset in a's region, %1 its b offset in b's. b's 2 ldmatrix.x4 (4 column
    # tiles), then row by row a's ldmatrix.x4 and that row's 4 mma.m16n8k16.
    lines = ["{", ".reg .b32 a<4>, b<8>;", ".reg .u32 sa, sb;", "mov.u32 sa, tc_smem;", f"add.u32 sb, sa, {B_BIG};",
             "add.u32 sa, sa, %0;", "add.u32 sb, sb, %1;"]
    lines += [f"{LDSM} {v4('b', j)}, [sb+{16 * BF16_STRIDE * j}];" for j in range(NT // 2)]
    for i in range(MT):
        lines.append(f"{LDSM} {v4('a', 0)}, [sa+{16 * BF16_STRIDE * i}];")
        for jn in range(NT):
            c = 4 * (NT * i + jn)
            acc = "{" + ", ".join(f"tc_c{c+q}" for q in range(4)) + "}"
            b0 = 4 * (jn // 2) + 2 * (jn % 2)
            lines.append(f"{MMA_BF16} {acc}, {v4('a', 0)}, {{b{b0}, b{b0+1}}}, {acc};")
    return lines + ["}"]


parts = [cs("Init", init(), "Declares tc_smem, the accumulators tc_c0..63 (zeroed) and the next slice's registers tc_x0..15."),
         cs("LoadA", load("a"), "Loads a's next slice into tc_x0..7: %0, %1 its two addresses, %2 the mask of the loads to make."),
         cs("LoadB", load("b"), "Loads b's next slice into tc_x8..15: %0, %1 its two addresses, %2 the mask of the loads to make.")]
for terms in (3, 1):
    parts.append(cs(f"Step{terms}", step(terms), f"{'3xTF32' if terms == 3 else 'TF32'}: a K step's fragments and mmas; %0, %1 the lane's a, b fragment offsets."))
parts.append(cs("StepBf16", step_bf16(), "BF16: a K step's fragments and mmas; %0, %1 the lane's a, b fragment offsets."))
for form, fa, fb in FORMS:
    parts.append(cs(f"{form}StageBf16", stage_bf16(fa, fb), f"{form} ({fa} a, {fb} b), BF16: rounds and stores the slice; %0, %1 a's, b's offsets."))
    for terms in (3, 1):
        parts.append(cs(f"{form}Stage{terms}", stage(form, fa, fb, terms), f"{form} ({fa} a, {fb} b), {'3xTF32' if terms == 3 else 'TF32'}: splits and stores the slice; %0, %1 a's, b's offsets."))
for kind in ("Plain", "Add", "Bias"):
    parts.append(cs(f"Store{kind}", store(kind), f"Stores the accumulators ({kind})."))

print("""// <auto-generated>
// Generated by tools/tensorcore-asm.py: do not edit; change the script and rerun it
// (python3 tools/tensorcore-asm.py > Cct.Gpu/Gemm/TensorCoreAsm.cs), then check with tools/tensorcore-emulate.py.
// </auto-generated>
namespace Cct.Gpu.Gemm;

/// <summary>TensorCoreGemm's inline PTX, unrolled (ILGPU takes only constant asm strings); see tools/tensorcore-asm.py for the layout.</summary>
internal static class TensorCoreAsm
{""")
print("\n\n".join(parts))
print("}")
