#!/usr/bin/env python3
# Generates the inline-PTX const strings of Cct.Gpu/Gemm/TensorCoreGemm.cs (InitAsm, StageAsm, StepAsm, StoreAsm), which
# ILGPU needs as compile-time constants: unrolled here once, pasted into the file. Offsets are the file's shared layout.
# usage: python3 tools/tensorcore-asm.py     (prints the C# declarations; check them with tools/tensorcore-emulate.py)
def cs(name, lines, indent="    "):
    out = [f"{indent}private const string {name} ="]
    for i, l in enumerate(lines):
        end = ";" if i == len(lines) - 1 else " +"
        out.append(f'{indent}    "{l}\\n"{end}')
    return "\n".join(out)

ACC = 32
init = [".shared .align 16 .b8 tc_smem[20480];", f".reg .f32 tc_c<{ACC}>;"]
init += [f"mov.f32 tc_c{i}, 0f00000000;" for i in range(ACC)]

stage = ["{", ".reg .f32 x<16>, d<16>;", ".reg .b32 hi<16>, lo<16>;", ".reg .u32 s;"]
for j in range(4):
    stage.append(f"ld.global.nc.v4.f32 {{x{4*j}, x{4*j+1}, x{4*j+2}, x{4*j+3}}}, [%{j}];")
for e in range(16):
    stage.append(f"cvt.rna.tf32.f32 hi{e}, x{e};")
for e in range(16):
    stage.append(f"sub.f32 d{e}, x{e}, hi{e};")
for e in range(16):
    stage.append(f"cvt.rna.tf32.f32 lo{e}, d{e};")
stage += ["mov.u32 s, tc_smem;", "add.u32 s, s, %4;"]
def v4(p, j): return "{" + ", ".join(f"{p}{4*j+q}" for q in range(4)) + "}"
# (region offset, register group): a rows r and r+32 at 0 / 2560, small at +5120; b at +10240.
for base, j in [(0, 0), (2560, 1), (10240, 2), (12800, 3)]:
    stage.append(f"st.shared.v4.b32 [s+{base}], {v4('hi', j)};")
    stage.append(f"st.shared.v4.b32 [s+{base + 5120}], {v4('lo', j)};")
stage.append("}")

mma = "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32"
ldsm = "ldmatrix.sync.aligned.m8n8.x4.shared.b16"
step = ["{", ".reg .b32 ahi<8>, alo<8>, bhi<8>, blo<8>;", ".reg .u32 sa, sb;", "mov.u32 sa, tc_smem;", "add.u32 sb, sa, %1;", "add.u32 sa, sa, %0;"]
for s in range(2):
    k = 32 * s
    for p, off in [("ahi", 0), ("alo", 5120)]:
        for i in range(2):
            step.append(f"{ldsm} {{{p}{4*i}, {p}{4*i+1}, {p}{4*i+2}, {p}{4*i+3}}}, [sa+{off + 1280*i + k}];")
    for p, off in [("bhi", 0), ("blo", 5120)]:
        for j in range(2):
            step.append(f"{ldsm} {{{p}{4*j}, {p}{4*j+1}, {p}{4*j+2}, {p}{4*j+3}}}, [sb+{off + 1280*j + k}];")
    for i in range(2):
        for jn in range(4):
            c = 4 * (4 * i + jn)
            acc = "{" + ", ".join(f"tc_c{c+q}" for q in range(4)) + "}"
            b0 = 4 * (jn // 2) + 2 * (jn % 2)
            for ap, bp in [("alo", "bhi"), ("ahi", "blo"), ("ahi", "bhi")]:
                a = "{" + ", ".join(f"{ap}{4*i+q}" for q in range(4)) + "}"
                b = f"{{{bp}{b0}, {bp}{b0+1}}}"
                step.append(f"{mma} {acc}, {a}, {b}, {acc};")
step.append("}")

store = []
for i in range(2):
    for jn in range(4):
        c = 4 * (4 * i + jn)
        store.append(f"st.global.v2.f32 [%{2*i}+{32*jn}], {{tc_c{c}, tc_c{c+1}}};")
        store.append(f"st.global.v2.f32 [%{2*i+1}+{32*jn}], {{tc_c{c+2}, tc_c{c+3}}};")

print(cs("InitAsm", init)); print()
print(cs("StageAsm", stage)); print()
print(cs("StepAsm", step)); print()
print(cs("StoreAsm", store))
