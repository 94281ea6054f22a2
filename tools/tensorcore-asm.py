#!/usr/bin/env python3
# Generates the inline-PTX const strings of Cct.Gpu/Gemm/TensorCoreGemm.cs (InitAsm, StageAsm, WarpMmaAsm, StepAsm, StoreAsm), which
# ILGPU needs as compile-time constants: unrolled here once, pasted into the file. Offsets are the file's shared layout.
# usage: python3 tools/tensorcore-asm.py     (prints the C# declarations; check them with tools/tensorcore-emulate.py)
# Tile: 128x128 per group of 8 warps (2 along M x 4 along N), each warp 64x32 = 4x4 mma tiles of 16x8; K step 16.
BM = BN = 128
ROW = 80                       # bytes per shared row: 16 k + 4 padding floats
REGION = BM * ROW              # one (128, 20) fp32 array: 10,240 B
SMALL, B = REGION, 2 * REGION  # a big 0, a small 10,240, b big 20,480, b small 30,720
SHARED = 4 * REGION
MT, NT = 4, 4                  # mma tiles per warp along M and N
ACC = 4 * MT * NT

def cs(name, lines, indent="    "):
    # A line is PTX text, or Ref(NAME): another of these consts, concatenated (C# folds const + const at compile time).
    out = [f"{indent}private const string {name} ="]
    for i, l in enumerate(lines):
        end = ";" if i == len(lines) - 1 else " +"
        out.append(f"{indent}    {l.name}{end}" if isinstance(l, Ref) else f'{indent}    "{l}\\n"{end}')
    return "\n".join(out)

class Ref:
    def __init__(self, name): self.name = name

def v4(p, j): return "{" + ", ".join(f"{p}{4*j+q}" for q in range(4)) + "}"

init = [f".shared .align 16 .b8 tc_smem[{SHARED}];", f".reg .f32 tc_c<{ACC}>;", ".reg .f32 tc_x<16>;"]
init += [f"mov.f32 tc_c{i}, 0f00000000;" for i in range(ACC)]

# The next slice into tc_x: a's rows r and r + 64, then b's.
load = [f"ld.global.nc.v4.f32 {v4('tc_x', j)}, [%{j}];" for j in range(4)]

stage = ["{", ".reg .f32 d<16>;", ".reg .b32 hi<16>, lo<16>;", ".reg .u32 s;"]
stage += [f"cvt.rna.tf32.f32 hi{e}, tc_x{e};" for e in range(16)]
stage += [f"sub.f32 d{e}, tc_x{e}, hi{e};" for e in range(16)]
stage += [f"cvt.rna.tf32.f32 lo{e}, d{e};" for e in range(16)]
stage += ["mov.u32 s, tc_smem;", "add.u32 s, s, %0;"]
for base, j in [(0, 0), (64 * ROW, 1), (B, 2), (B + 64 * ROW, 3)]:
    stage.append(f"st.shared.v4.b32 [s+{base}], {v4('hi', j)};")
    stage.append(f"st.shared.v4.b32 [s+{base + SMALL}], {v4('lo', j)};")
stage.append("}")

mma = "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32"
ldsm = "ldmatrix.sync.aligned.m8n8.x4.shared.b16"
# The warp tile's 3xTF32 mmas on the fragments in registers: the same text for both k halves of a step.
warp_mma = []
for i in range(MT):
    for jn in range(NT):
        c = 4 * (NT * i + jn)
        acc = "{" + ", ".join(f"tc_c{c+q}" for q in range(4)) + "}"
        b0 = 4 * (jn // 2) + 2 * (jn % 2)
        for ap, bp in [("alo", "bhi"), ("ahi", "blo"), ("ahi", "bhi")]:
            warp_mma.append(f"{mma} {acc}, {v4(ap, i)}, {{{bp}{b0}, {bp}{b0+1}}}, {acc};")
step = ["{", f".reg .b32 ahi<{4*MT}>, alo<{4*MT}>, bhi<{2*NT}>, blo<{2*NT}>;", ".reg .u32 sa, sb;", "mov.u32 sa, tc_smem;", "add.u32 sb, sa, %1;", "add.u32 sa, sa, %0;"]
for s in range(2):
    k = 32 * s
    for p, off in [("ahi", 0), ("alo", SMALL)]:
        for i in range(MT):
            step.append(f"{ldsm} {v4(p, i)}, [sa+{off + 16 * ROW * i + k}];")
    for p, off in [("bhi", 0), ("blo", SMALL)]:
        for j in range(NT // 2):
            step.append(f"{ldsm} {v4(p, j)}, [sb+{off + 16 * ROW * j + k}];")
    step.append(Ref("WarpMmaAsm"))
step.append("}")

# Rows g + 8·h (h < 2·MT) of the warp's block: %0 is row g's address at the thread's first column, %1 the bytes of 8 rows.
store = ["{", ".reg .b64 r;", "mov.b64 r, %0;"]
for h in range(2 * MT):
    if h:
        store.append("add.s64 r, r, %1;")
    i, half = divmod(h, 2)
    for jn in range(NT):
        c = 4 * (NT * i + jn) + 2 * half
        store.append(f"st.global.v2.f32 [r+{32*jn}], {{tc_c{c}, tc_c{c+1}}};")
store.append("}")

print(cs("InitAsm", init)); print()
print(cs("LoadAsm", load)); print()
print(cs("StageAsm", stage)); print()
print(cs("WarpMmaAsm", warp_mma)); print()
print(cs("StepAsm", step)); print()
print(cs("StoreAsm", store))
