#!/usr/bin/env python3
# Generates Cct.Gpu/Layers/TensorCoreFlashAttentionAsm.cs: the inline-PTX const strings of TensorCoreFlashAttention (fused
# attention's forward on bf16 tensor cores), which ILGPU needs as compile-time constants. Check the result with
# tools/flash-attention-emulate.py, which runs these strings warp by warp.
# usage: python3 tools/flash-attention-asm.py > Cct.Gpu/Layers/TensorCoreFlashAttentionAsm.cs
#
# A group of 4 warps takes 64 queries of one (image, head), a warp 16 of them, and walks the keys 32 at a time. Head size 64.
# Shared (bf16, rows of 64 values + 8 padding = 144 bytes, so ldmatrix's eight 16-byte row reads fall on distinct bank
# quads): q [64 rows] at 0, this step's keys [32 rows] at 9,216, its values [32 rows] at 13,824.
# Registers that live across asm statements (ILGPU never sees them): fa_q0..15 the warp's q as mma A fragments (4 k-steps
# of 16), fa_o0..31 the output accumulators (8 column tiles of 8), fa_s0..15 the step's scores and then probabilities
# (4 key tiles of 8), fa_m0..1 the running max of rows g and g + 8 (g = lane / 4) in log2 units, fa_l0..1 the lane's part
# of their running sums. An accumulator tile's registers 0, 1 are row g, columns 2t, 2t + 1 (t = lane % 4), 2, 3 row g + 8.
from ptx_strings import cs, regs

ROW = 144
Q_AT, K_AT, V_AT = 0, 64 * ROW, 64 * ROW + 32 * ROW
SHARED = V_AT + 32 * ROW
HEAD = 64
MMA = "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"
LDSM = "ldmatrix.sync.aligned.m8n8.x4.shared.b16"
LDSM_T = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16"
NEG_INF, ZERO, LN2 = "0fFF800000", "0f00000000", "0f3F317218"




def init(smem="fa_smem", size=SHARED, queries=16):
    # The forward's shared array and registers across statements (bf16's; 3xTF32's holds 64 query fragment registers).
    lines = [f".shared .align 16 .b8 {smem}[{size}];", f".reg .b32 fa_q<{queries}>;", ".reg .f32 fa_o<32>;",
             ".reg .f32 fa_s<16>;", ".reg .f32 fa_m<2>;", ".reg .f32 fa_l<2>;"]
    lines += [f"mov.f32 fa_o{i}, {ZERO};" for i in range(32)]
    return lines + [f"mov.f32 fa_m{r}, {NEG_INF};" for r in range(2)] + [f"mov.f32 fa_l{r}, {ZERO};" for r in range(2)]


def stage(smem="fa_smem"):
    # %0, %1 two consecutive floats of a row, %2 their shared byte offset: rounded to one bf16 pair (the first in the low half).
    return ["{", ".reg .b32 w;", ".reg .u32 a;", "cvt.rn.bf16x2.f32 w, %1, %0;", f"mov.u32 a, {smem};", "add.u32 a, a, %2;",
            "st.shared.b32 [a], w;", "}"]


def load_q():
    # %0 the lane's A fragment offset: row 16·warp + lane % 16, columns 8·(lane / 16) on; k-step j is 32 bytes further.
    lines = ["{", ".reg .u32 a;", "mov.u32 a, fa_smem;", "add.u32 a, a, %0;"]
    return lines + [f"{LDSM} {regs('fa_q', 4 * j)}, [a+{32 * j}];" for j in range(HEAD // 16)] + ["}"]


def scores():
    # fa_s = q·kᵀ for the step's 32 keys, keys past the end set to -inf. %0 the lane's B fragment offset in the key tile
    # (key lane % 8 + 8·(lane / 16), columns 8·((lane / 8) % 2) on), %1 the keys left from the lane's first column (2t).
    lines = ["{", ".reg .b32 b<8>;", ".reg .u32 a;", ".reg .pred p;"]
    lines += [f"mov.f32 fa_s{i}, {ZERO};" for i in range(16)]
    lines += ["mov.u32 a, fa_smem;", f"add.u32 a, a, {K_AT};", "add.u32 a, a, %0;"]
    for j in range(HEAD // 16):
        score_products(lines, "fa_s", regs('fa_q', 4 * j), [], "a", j)
    return lines + mask_past("fa_s", "%1") + ["}"]


def score_products(lines, acc, a, a_load, b, j):
    # k-step j of a 16 x 32 score tile: acc (4 tiles of 8 columns) += a (the A fragment registers, after a_load's lines)
    # · the B fragments of 32 rows as n at the address in register b (two ldmatrix.x4: rows 0-15, then 16-31).
    lines += a_load + [f"{LDSM} {regs('b', 0)}, [{b}+{32 * j}];", f"{LDSM} {regs('b', 4)}, [{b}+{16 * ROW + 32 * j}];"]
    for n in range(4):
        pair = 4 * (n // 2) + 2 * (n % 2)
        lines.append(f"{MMA} {regs(acc, 4 * n)}, {a}, {{b{pair}, b{pair + 1}}}, {regs(acc, 4 * n)};")


def mask_past(acc, left, tiles=4):
    # acc's columns past the end set to -inf: `left` the columns left from the lane's first (2t); column 8n + j is
    # inside while left > 8n + j.
    lines = []
    for n in range(tiles):
        for j in range(2):
            lines.append(f"setp.gt.s32 p, {left}, {8 * n + j};")
            lines += [f"selp.f32 {acc}{4 * n + 2 * h + j}, {acc}{4 * n + 2 * h + j}, {NEG_INF}, p;" for h in range(2)]
    return lines


def row_elements(h):
    # Registers of fa_s in row g + 8·h, in column order.
    return [4 * n + 2 * h + j for n in range(4) for j in range(2)]


def softmax():
    # The online softmax's step: %0 = scale · log2(e). Each row's max over the step (its four lanes' by two shuffles), the
    # running max and the rescale factor 2^(old − new), fa_s = 2^(scale·log2(e)·s − max), the lane's sums and the output
    # accumulators rescaled. The sums are of the undropped probabilities.
    lines = ["{", ".reg .f32 mx, mn, al, t;"]
    for h in range(2):
        e = row_elements(h)
        lines.append(f"max.f32 mx, fa_s{e[0]}, fa_s{e[1]};")
        lines += [f"max.f32 mx, mx, fa_s{x};" for x in e[2:]]
        for lanes in (1, 2):
            lines += [f"shfl.sync.bfly.b32 t, mx, {lanes}, 31, 0xffffffff;", "max.f32 mx, mx, t;"]
        lines += ["mul.f32 mx, mx, %0;", f"max.f32 mn, fa_m{h}, mx;", f"sub.f32 t, fa_m{h}, mn;", "ex2.approx.ftz.f32 al, t;",
                  f"mov.f32 fa_m{h}, mn;", "neg.f32 mn, mn;"]
        for x in e:
            lines += [f"fma.rn.f32 fa_s{x}, fa_s{x}, %0, mn;", f"ex2.approx.ftz.f32 fa_s{x}, fa_s{x};"]
        lines.append(f"mul.f32 fa_l{h}, fa_l{h}, al;")
        lines += [f"add.f32 fa_l{h}, fa_l{h}, fa_s{x};" for x in e]
        lines += [f"mul.f32 fa_o{4 * n + 2 * h + j}, fa_o{4 * n + 2 * h + j}, al;" for n in range(8) for j in range(2)]
    return lines + ["}"]


def kept(lines, index):
    # p = whether RngKey.Uniform's draw at the 64-bit (B, H, T, T) index in register `index` is kept: %0 the key's prefix,
    # %1 the least kept 24-bit draw. Needs lo, hi, h, x and p declared.
    lines += [f"mov.b64 {{lo, hi}}, {index};", "xor.b32 h, %0, lo;"]
    mix(lines)
    lines += ["xor.b32 h, h, hi;", "xor.b32 h, h, 0x27D4EB2F;"]
    mix(lines)
    lines += ["shr.u32 h, h, 8;", "setp.ge.u32 p, h, %1;"]


def mix(lines):
    # The murmur3 finaliser on h (RngKey.Mix).
    lines += ["shr.u32 x, h, 16;", "xor.b32 h, h, x;", "mul.lo.u32 h, h, 0x85EBCA6B;", "shr.u32 x, h, 13;", "xor.b32 h, h, x;",
              "mul.lo.u32 h, h, 0xC2B2AE35;", "shr.u32 x, h, 16;", "xor.b32 h, h, x;"]


def dropout():
    # Inverted dropout on fa_s, RngKey.Uniform's counter hash at each element's (B, H, T, T) index: %0 the key's prefix,
    # %1 the least 24-bit draw kept (ceil(p · 2^24)), %2 1 / (1 − p), %3 and %4 the indices of rows g and g + 8 at the
    # lane's first column (2t) of the step.
    lines = ["{", ".reg .b64 i;", ".reg .u32 lo, hi, h, x;", ".reg .f32 v;", ".reg .pred p;"]
    for h in range(2):
        for n in range(4):
            for j in range(2):
                e = 4 * n + 2 * h + j
                lines.append(f"add.s64 i, %{3 + h}, {8 * n + j};")
                kept(lines, "i")
                lines += [f"mul.f32 v, fa_s{e}, %2;", f"selp.f32 fa_s{e}, v, {ZERO}, p;"]
    return lines + ["}"]


def trans_products(acc, src, smem, at):
    # acc += src (score tiles as bf16 A fragments: tiles 2k and 2k + 1 are k-step k's) · the shared tile at `at`, its B
    # fragments by ldmatrix.trans from the lane's offset %0 (row lane % 8 + 8·((lane / 8) % 2), columns 8·(lane / 16) on).
    # Needs p0..7, b0..3 and a declared.
    lines = []
    for k in range(2):
        for half in range(2):
            n = 2 * k + half
            lines += [f"cvt.rn.bf16x2.f32 p{4 * k + 2 * half}, {src}{4 * n + 1}, {src}{4 * n};",
                      f"cvt.rn.bf16x2.f32 p{4 * k + 2 * half + 1}, {src}{4 * n + 3}, {src}{4 * n + 2};"]
    lines += [f"mov.u32 a, {smem};", f"add.u32 a, a, {at};", "add.u32 a, a, %0;"]
    for k in range(2):
        # A fragment registers: a0a1 (row g, columns 2t..), a2a3 (row g + 8), a4a5 (row g, 8 + 2t..), a6a7 (row g + 8).
        a = f"{{p{4 * k}, p{4 * k + 1}, p{4 * k + 2}, p{4 * k + 3}}}"
        for pair in range(HEAD // 16):
            lines.append(f"{LDSM_T} {regs('b', 0)}, [a+{16 * ROW * k + 32 * pair}];")
            for half in range(2):
                n = 2 * pair + half
                lines.append(f"{MMA} {regs(acc, 4 * n)}, {a}, {{b{2 * half}, b{2 * half + 1}}}, {regs(acc, 4 * n)};")
    return lines


def values():
    # fa_o += fa_s · v: %0 the lane's fragment offset in the value tile for ldmatrix.trans.
    return ["{", ".reg .b32 p<8>, b<4>;", ".reg .u32 a;"] + trans_products("fa_o", "fa_s", "fa_smem", V_AT) + ["}"]


def store():
    # The output rows divided by their sums and each row's log-sum-exp of the scaled scores. %0 the address of row g at
    # the lane's first column, %1 the bytes of 8 output rows, %2 the rows left from row g, %3 the address of row g's
    # log-sum-exp, %4 nonzero in the lane that stores it (t = 0).
    lines = ["{", ".reg .f32 l, t, inv, v<2>;", ".reg .b64 r;", ".reg .pred p, w;", "setp.ne.s32 w, %4, 0;", "mov.b64 r, %0;"]
    for h in range(2):
        lines += [f"mov.f32 l, fa_l{h};"]
        for lanes in (1, 2):
            lines += [f"shfl.sync.bfly.b32 t, l, {lanes}, 31, 0xffffffff;", "add.f32 l, l, t;"]
        lines += [f"setp.gt.s32 p, %2, {8 * h};", "rcp.rn.f32 inv, l;"]
        if h:
            lines.append("add.s64 r, r, %1;")
        for n in range(8):
            lines += [f"mul.f32 v0, fa_o{4 * n + 2 * h}, inv;", f"mul.f32 v1, fa_o{4 * n + 2 * h + 1}, inv;",
                      f"@p st.global.v2.f32 [r+{32 * n}], {{v0, v1}};"]
        lines += ["lg2.approx.f32 t, l;", f"add.f32 t, t, fa_m{h};", f"mul.f32 t, t, {LN2};", "and.pred p, p, w;",
                  f"@p st.global.f32 [%3+{32 * h}], t;"]
    return lines + ["}"]




# The key-major backward: a group of 4 warps takes 64 keys of one (image, head), a warp 16, and walks the queries 32 a
# step. Shared (bf16 rows of 144 bytes as above): k [64 rows] at 0, v [64] at 9,216, the step's q [32] at 18,432 and
# doutput [32] at 23,040, then the step's 32 log-sum-exps (times log2(e)) and 32 row dots as fp32 at 27,648 and 27,776.
# Registers across statements: fb_dv0..31 and fb_dk0..31 the warp's dv and dk (16 keys x 64), fb_s0..15 the step's
# scores, then P, then dropout(P); fb_d0..15 its dP̃ (the dropped probabilities' gradient), then dS. Row g of a tile is
# key g (g = lane / 4), columns 2t, 2t + 1 queries (t = lane % 4).
B_K, B_V = 0, 64 * ROW
B_Q, B_DO = 128 * ROW, 128 * ROW + 32 * ROW
B_LSE = 192 * ROW
B_DOT = B_LSE + 128
B_SHARED = B_DOT + 128


def backward_init(smem="fb_smem", size=B_SHARED, tiles=4, keys=()):
    # The key-major backward's shared array and registers across statements: `keys` declares 3xTF32's k fragments, and
    # the step's scores and dP̃ are `tiles` accumulator tiles (bf16's 32 queries, 3xTF32's 8).
    lines = [f".shared .align 16 .b8 {smem}[{size}];", *keys, ".reg .f32 fb_dv<32>;", ".reg .f32 fb_dk<32>;", f".reg .f32 fb_s<{4 * tiles}>;",
             f".reg .f32 fb_d<{4 * tiles}>;"]
    return lines + [f"mov.f32 fb_dv{i}, {ZERO};" for i in range(32)] + [f"mov.f32 fb_dk{i}, {ZERO};" for i in range(32)]


def backward_statistic(smem="fb_smem"):
    # %0 a float, %1 its shared byte offset.
    return ["{", ".reg .u32 a;", f"mov.u32 a, {smem};", "add.u32 a, a, %1;", "st.shared.f32 [a], %0;", "}"]


def backward_scores():
    # fb_s = k·qᵀ and fb_d = v·doutputᵀ for the warp's 16 keys and the step's 32 queries; queries past the end -inf in fb_s.
    # %0 the lane's A fragment offset (key row 16·warp + lane % 16, columns 8·(lane / 16) on) in the k and v tiles, %1 its
    # B fragment offset (query lane % 8 + 8·(lane / 16), columns 8·((lane / 8) % 2) on) in the q and doutput tiles, %2
    # the queries left from the lane's first column (2t).
    lines = ["{", ".reg .b32 a<4>, b<8>;", ".reg .u32 x, y;", ".reg .pred p;"]
    lines += [f"mov.f32 fb_s{i}, {ZERO};" for i in range(16)] + [f"mov.f32 fb_d{i}, {ZERO};" for i in range(16)]
    for acc, a_at, b_at in [("fb_s", B_K, B_Q), ("fb_d", B_V, B_DO)]:
        lines += ["mov.u32 x, fb_smem;", "add.u32 y, x, %1;", "add.u32 x, x, %0;"]
        if a_at:
            lines.append(f"add.u32 x, x, {a_at};")
        lines.append(f"add.u32 y, y, {b_at};")
        for j in range(HEAD // 16):
            score_products(lines, acc, regs('a', 0), [f"{LDSM} {regs('a', 0)}, [x+{32 * j}];"], "y", j)
    return lines + mask_past("fb_s", "%2") + ["}"]


def column_statistics(base, name, smem="fb_smem", tiles=4):
    # The step's fp32 statistic of each of the lane's query columns (8n + j from its first, 2t) into name0, 1, ….
    lines = [f"mov.u32 a, {smem};", "add.u32 a, a, %s;" % "{}", f"add.u32 a, a, {base};"]
    return lines + [f"ld.shared.f32 {name}{2 * n + j}, [a+{4 * (8 * n + j)}];" for n in range(tiles) for j in range(2)]


def backward_probabilities(smem="fb_smem", at=B_LSE, tiles=4):
    # fb_s = P = 2^(scale·log2(e)·s − log2(e)·log-sum-exp of the column's query). %0 = scale·log2(e), %1 = 8t (bytes).
    lines = ["{", ".reg .u32 a;", f".reg .f32 l<{2 * tiles}>;"] + [x.format("%1") for x in column_statistics(at, "l", smem, tiles)]
    for n in range(tiles):
        for j in range(2):
            for h in range(2):
                e = 4 * n + 2 * h + j
                lines += [f"neg.f32 l{2 * n + j}, l{2 * n + j};" if h == 0 else None,
                          f"fma.rn.f32 fb_s{e}, fb_s{e}, %0, l{2 * n + j};", f"ex2.approx.ftz.f32 fb_s{e}, fb_s{e};"]
    return [l for l in lines if l is not None] + ["}"]


def backward_gradients(dropped, smem="fb_smem", at=B_DOT, tiles=4):
    # fb_d = dS = P · (dropout(dP̃) − D) and fb_s = dropout(P), with D the column's row dot. Dropped: %0 the key's prefix,
    # %1 the least kept draw, %2 1 / (1 − p), %3 and %4 the (B, H, T, T) indices of (query 2t, key g) and (2t, g + 8),
    # %5 T (an index's step from one query to the next), %6 = 8t (bytes). Undropped: %0 = 8t.
    stats = "%6" if dropped else "%0"
    lines = ["{", ".reg .u32 a;", f".reg .f32 dot<{2 * tiles}>, v;"] + [x.format(stats) for x in column_statistics(at, "dot", smem, tiles)]
    if dropped:
        lines[1:1] = [".reg .b64 i, o;", ".reg .u32 lo, hi, h, x;", ".reg .pred p;"]
    for h in range(2):
        for n in range(tiles):
            for j in range(2):
                e = 4 * n + 2 * h + j
                if dropped:
                    lines += [f"mul.lo.s64 o, %5, {8 * n + j};", f"add.s64 i, %{3 + h}, o;"]
                    kept(lines, "i")
                    lines += [f"mul.f32 v, fb_d{e}, %2;", f"selp.f32 fb_d{e}, v, {ZERO}, p;"]
                lines += [f"sub.f32 fb_d{e}, fb_d{e}, dot{2 * n + j};", f"mul.f32 fb_d{e}, fb_d{e}, fb_s{e};"]
                if dropped:
                    lines += [f"mul.f32 v, fb_s{e}, %2;", f"selp.f32 fb_s{e}, v, {ZERO}, p;"]
    return lines + ["}"]


def backward_store_scores(tiles=4):
    # scale · dS to the (B, H, T, T) scratch at (query, key), for dq's product: %0 the address of (query 2t, key g), %1 the
    # bytes from one query's row to the next (4T), %2 the keys left from key g, %3 the queries left from query 2t, %4 scale.
    lines = ["{", ".reg .b64 r, o;", ".reg .f32 v;", ".reg .pred k<2>, q, p;", "setp.gt.s32 k0, %2, 0;", "setp.gt.s32 k1, %2, 8;"]
    for n in range(tiles):
        for j in range(2):
            lines += [f"setp.gt.s32 q, %3, {8 * n + j};", f"mul.lo.s64 o, %1, {8 * n + j};", "add.s64 r, %0, o;"]
            for h in range(2):
                e = 4 * n + 2 * h + j
                lines += [f"and.pred p, q, k{h};", f"mul.f32 v, fb_d{e}, %4;", f"@p st.global.f32 [r+{32 * h}], v;"]
    return lines + ["}"]


def backward_values():
    # fb_dv += dropout(P) · doutput and fb_dk += dS · q: %0 the lane's fragment offset in the doutput and q tiles for
    # ldmatrix.trans (query lane % 8 + 8·((lane / 8) % 2), columns 8·(lane / 16) on).
    lines = ["{", ".reg .b32 p<8>, b<4>;", ".reg .u32 a;"]
    lines += trans_products("fb_dv", "fb_s", "fb_smem", B_DO) + trans_products("fb_dk", "fb_d", "fb_smem", B_Q)
    return lines + ["}"]


def add_rows(parts):
    # dqkv += the warp's accumulators, rows g and g + 8 (8 qkv rows apart: %1 bytes) from row g's address at the lane's
    # first column (%0), while rows are left (%2 from row g). Each part is (accumulators, scaled by %4, the offset
    # register from %0 or None).
    lines = ["{", ".reg .b64 r;", ".reg .f32 v<2>;", ".reg .pred p;", "mov.b64 r, %0;"]
    for h in range(2):
        if h:
            lines.append("add.s64 r, r, %1;")
        lines.append(f"setp.gt.s32 p, %2, {8 * h};")
        for acc, scaled, offset in parts:
            at = "r" if offset is None else "s"
            if offset is not None:
                lines += ["{", ".reg .b64 s;", f"add.s64 s, r, {offset};"]
            for n in range(8):
                e = 4 * n + 2 * h
                lines.append(f"@p ld.global.v2.f32 {{v0, v1}}, [{at}+{32 * n}];")
                for q in range(2):
                    lines.append(f"fma.rn.f32 v{q}, {acc}{e + q}, %4, v{q};" if scaled else f"add.f32 v{q}, v{q}, {acc}{e + q};")
                lines.append(f"@p st.global.v2.f32 [{at}+{32 * n}], {{v0, v1}};")
            if offset is not None:
                lines.append("}")
    return lines + ["}"]


def backward_store():
    # dqkv += (scale · dk, dv) for the warp's keys: %0 the address of key g's k part at the lane's first column, %1 the
    # bytes of 8 qkv rows, %2 the keys left from key g, %3 the bytes from a row's k part to its v part (4C), %4 scale.
    return add_rows([("fb_dk", True, None), ("fb_dv", False, "%3")])




# dq = (scale · dS) · k, query-major: a group of 4 warps takes 64 queries, a warp 16, and walks the keys 32 a step.
# Shared: the step's scale · dS [64 query rows][32 keys] as bf16 rows of 80 bytes (32 + 8 padding: ldmatrix's row reads
# on distinct bank quads) at 0, the step's keys [32 rows] of 144 bytes at 5,120. fc_dq0..31 the warp's dq (16 x 64).
SCORE_ROW = 80
C_K = 64 * SCORE_ROW
C_SHARED = C_K + 32 * ROW


def queries_init(smem="fc_smem", size=C_SHARED):
    return [f".shared .align 16 .b8 {smem}[{size}];", ".reg .f32 fc_dq<32>;"] + [f"mov.f32 fc_dq{i}, {ZERO};" for i in range(32)]


def queries_step():
    # fc_dq += the step's dS rows (A fragments by ldmatrix: row 16·warp + lane % 16, keys 8·(lane / 16) on, at %0) · its
    # keys (B fragments by ldmatrix.trans, k = key, at %1 in the key tile).
    lines = ["{", ".reg .b32 p<4>, b<4>;", ".reg .u32 s, a;", "mov.u32 s, fc_smem;", "add.u32 s, s, %0;", "mov.u32 a, fc_smem;",
             f"add.u32 a, a, {C_K};", "add.u32 a, a, %1;"]
    for k in range(2):
        lines.append(f"{LDSM} {regs('p', 0)}, [s+{32 * k}];")
        for pair in range(HEAD // 16):
            lines.append(f"{LDSM_T} {regs('b', 0)}, [a+{16 * ROW * k + 32 * pair}];")
            for half in range(2):
                n = 2 * pair + half
                lines.append(f"{MMA} {regs('fc_dq', 4 * n)}, {regs('p', 0)}, {{b{2 * half}, b{2 * half + 1}}}, {regs('fc_dq', 4 * n)};")
    return lines + ["}"]


def queries_store():
    # dqkv += dq for the warp's queries: %0 the address of query g's q part at the lane's first column, %1 the bytes of 8
    # qkv rows, %2 the queries left from query g.
    return add_rows([("fc_dq", False, None)])



# The forward in 3xTF32 (fp32-accurate, CUTLASS's example 27), for tf32x3 and tf32: the same group, walk, online softmax,
# dropout and store (Softmax, Dropout and Store above, on the same registers), with each product summed as small·big +
# big·small + big·big on mma.m16n8k8 TF32 tensor cores, big = tf32(x) and small = tf32(x − big). Shared (fp32 words;
# 35,840 bytes, under the 48 KB of a static array): q's big and small rows at 0 and 17,408 until its fragments are in
# registers, then each step's keys, big and small rows at 0 and 8,704, and its values transposed, one row a column of v,
# big and small at 17,408 and 26,624. Rows of q and keys are 64 words + 4 padding (272 bytes), rows of the transposed
# values 32 words + 4 (144 bytes): ldmatrix's eight 16-byte row reads fall on distinct bank quads. fa_q0..31 hold q's
# big A fragments (8 k-steps of 8), fa_q32..63 its small ones.
#
# P·V without shared memory: an mma.m16n8k8 accumulator tile's lane holds row g's columns 2t and 2t + 1, but its A
# fragment holds columns t and t + 4. The sum over the 8 keys of a tile does not depend on their order, so A's k-index
# t is taken as key 2t and t + 4 as key 2t + 1: the accumulators are the A fragment as they are, and the transposed
# value rows store each tile's keys in that order (key 2j at word j, 2j + 1 at word j + 4).
X_ROW, XT_ROW = 272, 144
X_Q_SMALL = 64 * X_ROW
X_K_SMALL = 32 * X_ROW
X_V_AT = 64 * X_ROW
X_V_SMALL = X_V_AT + 64 * XT_ROW
X_SHARED = X_V_SMALL + 64 * XT_ROW
MMA_TF32 = "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32"
KEY_STEP = 32


def split(lines, big, small, x):
    # big = tf32(x), small = tf32(x − big). Needs r declared.
    lines += [f"cvt.rna.tf32.f32 {big}, {x};", f"sub.f32 r, {x}, {big};", f"cvt.rna.tf32.f32 {small}, r;"]


def tf32x3_stage(smem="fx_smem"):
    # %0..%3 four consecutive floats of a row, %4 their byte offset in the big tile, %5 the bytes from it to the small tile.
    lines = ["{", ".reg .b32 b<4>, s<4>;", ".reg .f32 r;", ".reg .u32 a;"]
    for i in range(4):
        split(lines, f"b{i}", f"s{i}", f"%{i}")
    return lines + [f"mov.u32 a, {smem};", "add.u32 a, a, %4;", f"st.shared.v4.b32 [a], {regs('b', 0)};", "add.u32 a, a, %5;",
                    f"st.shared.v4.b32 [a], {regs('s', 0)};", "}"]


def tf32x3_stage_values(smem="fx_smem"):
    # %0..%3 a row's four consecutive columns 4c … 4c + 3, stored down the transposed tile's rows 4c … from %4, the big
    # tile's byte offset of (row 4c, the row's word); the small tile is 9,216 bytes on.
    lines = ["{", ".reg .b32 b<4>, s<4>;", ".reg .f32 r;", ".reg .u32 a;"]
    for i in range(4):
        split(lines, f"b{i}", f"s{i}", f"%{i}")
    lines += [f"mov.u32 a, {smem};", "add.u32 a, a, %4;"]
    lines += [f"st.shared.b32 [a+{XT_ROW * i}], b{i};" for i in range(4)]
    return lines + [f"st.shared.b32 [a+{X_V_SMALL - X_V_AT + XT_ROW * i}], s{i};" for i in range(4)] + ["}"]


def tf32x3_load_q():
    # %0 the lane's A fragment offset in q's big tile: row 16·warp + lane % 16, words 4·(lane / 16) on; k-step j is 32
    # bytes further. A register i of an m16n8k8 TF32 fragment is ldmatrix's matrix i: (g, t), (g + 8, t), (g, t + 4), (g + 8, t + 4).
    lines = ["{", ".reg .u32 a;", "mov.u32 a, fx_smem;", "add.u32 a, a, %0;"]
    lines += [f"{LDSM} {regs('fa_q', 4 * j)}, [a+{32 * j}];" for j in range(HEAD // 8)]
    return lines + [f"{LDSM} {regs('fa_q', 32 + 4 * j)}, [a+{X_Q_SMALL + 32 * j}];" for j in range(HEAD // 8)] + ["}"]


def three_products(lines, items):
    # acc += a·b in 3xTF32 for each item (acc, a_big, a_small, b_big, b_small): the small terms first, then big·big, a
    # term at a time across the items, so that an accumulator's dependent mma are len(items) apart (back to back, ptxas
    # put 120 NOPs in the forward's step).
    for term in range(3):
        for acc, a_big, a_small, b_big, b_small in items:
            a, b = ((a_small, b_big), (a_big, b_small), (a_big, b_big))[term]
            lines.append(f"{MMA_TF32} {acc}, {a}, {b}, {acc};")


def tf32x3_scores():
    # fa_s = q·kᵀ for the step's 32 keys, keys past the end -inf. %0 the lane's B fragment offset in the keys' big tile
    # (key lane % 8 + 8·(lane / 16), words 4·((lane / 8) % 2) on: one ldmatrix.x4 gives key tiles 2p and 2p + 1 their
    # (k t, n g) and (k t + 4, n g) words), %1 the keys left from the lane's first column (2t).
    lines = ["{", ".reg .b32 b<8>, c<8>;", ".reg .u32 a;", ".reg .pred p;"]
    lines += [f"mov.f32 fa_s{i}, {ZERO};" for i in range(16)]
    lines += ["mov.u32 a, fx_smem;", "add.u32 a, a, %0;"]
    for j in range(HEAD // 8):
        for pair in range(2):
            at = 16 * X_ROW * pair + 32 * j
            lines += [f"{LDSM} {regs('b', 4 * pair)}, [a+{at}];", f"{LDSM} {regs('c', 4 * pair)}, [a+{X_K_SMALL + at}];"]
        three_products(lines, [(regs('fa_s', 4 * n), regs('fa_q', 4 * j), regs('fa_q', 32 + 4 * j), f"{{b{2 * n}, b{2 * n + 1}}}",
                                f"{{c{2 * n}, c{2 * n + 1}}}") for n in range(4)])
    return lines + mask_past("fa_s", "%1") + ["}"]


def tf32x3_values():
    # fa_o += fa_s · v: key tile n's accumulators (g, 2t), (g, 2t + 1), (g + 8, 2t), (g + 8, 2t + 1) are A's (g, t),
    # (g, t + 4), (g + 8, t), (g + 8, t + 4), split into big and small. %0 the lane's fragment offset in the transposed
    # values' big tile (column lane % 8 + 8·(lane / 16) of v, words 4·((lane / 8) % 2) on: one ldmatrix.x4 gives
    # column tiles 2p and 2p + 1 the words of keys 2t and 2t + 1).
    lines = ["{", ".reg .b32 p<4>, s<4>, b<8>, c<8>;", ".reg .f32 r;", ".reg .u32 a;", "mov.u32 a, fx_smem;", f"add.u32 a, a, {X_V_AT};",
             "add.u32 a, a, %0;"]
    for n in range(4):
        for i, e in enumerate((0, 2, 1, 3)):
            split(lines, f"p{i}", f"s{i}", f"fa_s{4 * n + e}")
        for pairs in range(HEAD // 32):
            items = []
            for q in range(2):
                at = 16 * XT_ROW * (2 * pairs + q) + 32 * n
                lines += [f"{LDSM} {regs('b', 4 * q)}, [a+{at}];", f"{LDSM} {regs('c', 4 * q)}, [a+{X_V_SMALL - X_V_AT + at}];"]
                items += [(regs('fa_o', 4 * (4 * pairs + 2 * q + half)), regs('p', 0), regs('s', 0), f"{{b{4 * q + 2 * half}, b{4 * q + 2 * half + 1}}}",
                           f"{{c{4 * q + 2 * half}, c{4 * q + 2 * half + 1}}}") for half in range(2)]
            three_products(lines, items)
    return lines + ["}"]


# The key-major backward in 3xTF32, for tf32x3 and tf32: BackwardKernel's work (a group of 4 warps takes 64 keys, a warp
# 16) on mma.m16n8k8 TF32, walking the queries 8 a step: the largest step whose tiles fit under 48 KB beside v's.
# Shared (fz_smem, 43,584 bytes; rows of 64 words + 4 padding, 272 bytes): v's big and small rows at 0 and 17,408 (before
# the walk: k's, until its fragments are in registers), the step's q at 34,816 and doutput at 39,168 (big, then small
# 2,176 bytes on), its 8 log-sum-exps (times log2(e)) at 43,520 and row dots at 43,552. Registers across statements:
# fz_k0..31 k's big A fragments (8 k-steps), fz_k32..63 its small ones; fb_dv0..31 and fb_dk0..31 as BackwardKernel's;
# fb_s0..3 the step's scores, then P, then dropout(P); fb_d0..3 its dP̃, then dS (key g or g + 8, queries 2t, 2t + 1).
# dv += dropout(P)ᵀ·doutput and dk += dSᵀ·q take the score tile as their A fragment as the forward's P·V does (query
# 2t as k-index t, 2t + 1 as t + 4); their B fragments, rows 2t and 2t + 1 of the doutput or q tile at column g, are
# two ld.shared.b32 from the untransposed tile, on distinct banks (272-byte rows: 8t + g).
Z_ROW = X_ROW
Z_SMALL = 64 * Z_ROW
Z_Q = 2 * Z_SMALL
Z_STEP_SMALL = 8 * Z_ROW
Z_DO = Z_Q + 2 * Z_STEP_SMALL
Z_LSE = Z_DO + 2 * Z_STEP_SMALL
Z_DOT = Z_LSE + 32
Z_SHARED = Z_DOT + 32


def tf32x3_backward_load_keys():
    # %0 the lane's A fragment offset (key row 16·warp + lane % 16, words 4·(lane / 16) on) in k's big tile.
    lines = ["{", ".reg .u32 a;", "mov.u32 a, fz_smem;", "add.u32 a, a, %0;"]
    lines += [f"{LDSM} {regs('fz_k', 4 * j)}, [a+{32 * j}];" for j in range(HEAD // 8)]
    return lines + [f"{LDSM} {regs('fz_k', 32 + 4 * j)}, [a+{Z_SMALL + 32 * j}];" for j in range(HEAD // 8)] + ["}"]


def tf32x3_backward_scores():
    # fb_s = k·qᵀ and fb_d = v·doutputᵀ for the warp's 16 keys and the step's 8 queries; queries past the end -inf in
    # fb_s. %0 the lane's A fragment offset in v's big tile (as k's), %1 its B fragment offset in the q tile (query
    # lane % 8, words 4·(lane / 8) on: one ldmatrix.x4 gives k-steps 2i and 2i + 1), %2 the queries left from its first
    # column (2t). A step's 8 queries are one accumulator tile a product, so each of the three terms sums into its own
    # (s·b and b·s in sa, sb and da, db; b·b in fb_s and fb_d), added at the end, and the two products alternate: six
    # chains of 8 dependent mma rather than two of 24 (ptxas put 70 NOPs in the step with two).
    lines = ["{", ".reg .b32 a<4>, e<4>, b<4>, c<4>, f<4>, g<4>;", ".reg .f32 sa<4>, sb<4>, da<4>, db<4>;", ".reg .u32 x, y;", ".reg .pred p;"]
    lines += [f"mov.f32 {acc}{i}, {ZERO};" for acc in ("fb_s", "fb_d", "sa", "sb", "da", "db") for i in range(4)]
    lines += ["mov.u32 x, fz_smem;", "add.u32 y, x, %1;", "add.u32 x, x, %0;", f"add.u32 y, y, {Z_Q};"]
    for i in range(HEAD // 16):
        lines += [f"{LDSM} {regs('b', 0)}, [y+{64 * i}];", f"{LDSM} {regs('c', 0)}, [y+{Z_STEP_SMALL + 64 * i}];",
                  f"{LDSM} {regs('f', 0)}, [y+{Z_DO - Z_Q + 64 * i}];", f"{LDSM} {regs('g', 0)}, [y+{Z_DO - Z_Q + Z_STEP_SMALL + 64 * i}];"]
        for h in range(2):
            j = 2 * i + h
            lines += [f"{LDSM} {regs('a', 0)}, [x+{32 * j}];", f"{LDSM} {regs('e', 0)}, [x+{Z_SMALL + 32 * j}];"]
            b_big, b_small = f"{{b{2 * h}, b{2 * h + 1}}}", f"{{c{2 * h}, c{2 * h + 1}}}"
            d_big, d_small = f"{{f{2 * h}, f{2 * h + 1}}}", f"{{g{2 * h}, g{2 * h + 1}}}"
            k_big, k_small = regs('fz_k', 4 * j), regs('fz_k', 32 + 4 * j)
            for acc, a, b in ((regs('sa', 0), k_small, b_big), (regs('da', 0), regs('e', 0), d_big), (regs('sb', 0), k_big, b_small),
                              (regs('db', 0), regs('a', 0), d_small), (regs('fb_s', 0), k_big, b_big), (regs('fb_d', 0), regs('a', 0), d_big)):
                lines.append(f"{MMA_TF32} {acc}, {a}, {b}, {acc};")
    for acc, x, y in (("fb_s", "sa", "sb"), ("fb_d", "da", "db")):
        for i in range(4):
            lines += [f"add.f32 {x}{i}, {x}{i}, {y}{i};", f"add.f32 {acc}{i}, {acc}{i}, {x}{i};"]
    return lines + mask_past("fb_s", "%2", tiles=1) + ["}"]


def tf32x3_backward_values():
    # fb_dv += dropout(P)ᵀ·doutput and fb_dk += dSᵀ·q: %0 the lane's B fragment offset, row 2t at column g (bytes), in the
    # doutput and q tiles.
    # dv's and dk's tiles alternate, two column tiles of each at a time.
    lines = ["{", ".reg .b32 p<8>, s<8>, b<8>, c<8>;", ".reg .f32 r;", ".reg .u32 a;", "mov.u32 a, fz_smem;", "add.u32 a, a, %0;"]
    products = (("fb_dv", "fb_s", Z_DO), ("fb_dk", "fb_d", Z_Q))
    for x, (acc, src, at) in enumerate(products):
        for i, e in enumerate((0, 2, 1, 3)):
            split(lines, f"p{4 * x + i}", f"s{4 * x + i}", f"{src}{e}")
    for m0 in range(0, HEAD // 8, 2):
        items = []
        for x, (acc, src, at) in enumerate(products):
            for h in range(2):
                m, r0 = m0 + h, 4 * x + 2 * h
                lines += [f"ld.shared.b32 b{r0 + r}, [a+{at + 32 * m + Z_ROW * r}];" for r in range(2)]
                lines += [f"ld.shared.b32 c{r0 + r}, [a+{at + Z_STEP_SMALL + 32 * m + Z_ROW * r}];" for r in range(2)]
                items.append((regs(acc, 4 * m), regs('p', 4 * x), regs('s', 4 * x), f"{{b{r0}, b{r0 + 1}}}", f"{{c{r0}, c{r0 + 1}}}"))
        three_products(lines, items)
    return lines + ["}"]


# dq = (scale · dS) · k in 3xTF32, for tf32x3 and tf32 after FlashAttention's fp32 key-major backward: QueriesStep's
# kernel on mma.m16n8k8 TF32. Shared (fy_smem, 36,864 bytes): the step's scale · dS [64 query rows][32 keys], big and
# small at 0 and 9,216, and its keys transposed (one row a column of k, the keys in order), big and small at 18,432 and
# 27,648; every row 32 words + 4 padding (144 bytes). The accumulators are QueriesStore's fc_dq0..31.
Y_SMALL = 64 * XT_ROW
Y_K = 2 * Y_SMALL
Y_SHARED = 2 * Y_K


def tf32x3_queries_step():
    # fc_dq += the step's dS rows (A fragments by ldmatrix: row 16·warp + lane % 16, words 4·(lane / 16) on, at %0) · its
    # keys (B fragments from the transposed tile: column lane % 8 + 8·(lane / 16) of k, words 4·((lane / 8) % 2) on, at %1).
    lines = ["{", ".reg .b32 a<4>, s<4>, b<16>, c<16>;", ".reg .u32 x, y;", "mov.u32 x, fy_smem;", "add.u32 y, x, %1;",
             f"add.u32 y, y, {Y_K};", "add.u32 x, x, %0;"]
    for j in range(KEY_STEP // 8):
        lines += [f"{LDSM} {regs('a', 0)}, [x+{32 * j}];", f"{LDSM} {regs('s', 0)}, [x+{Y_SMALL + 32 * j}];"]
        items = []
        for pair in range(HEAD // 16):
            at = 16 * XT_ROW * pair + 32 * j
            lines += [f"{LDSM} {regs('b', 4 * pair)}, [y+{at}];", f"{LDSM} {regs('c', 4 * pair)}, [y+{Y_SMALL + at}];"]
            items += [(regs('fc_dq', 4 * (2 * pair + half)), regs('a', 0), regs('s', 0), f"{{b{4 * pair + 2 * half}, b{4 * pair + 2 * half + 1}}}",
                       f"{{c{4 * pair + 2 * half}, c{4 * pair + 2 * half + 1}}}") for half in range(2)]
        three_products(lines, items)
    return lines + ["}"]


parts = [cs("Init", init(), "Declares fa_smem and the registers that live across statements: output accumulators zeroed, running maxima -inf, sums 0."),
         cs("Stage", stage(), "Rounds two consecutive floats (%0, %1) to a bf16 pair at shared offset %2."),
         cs("LoadQueries", load_q(), "The warp's q fragments from shared; %0 the lane's offset."),
         cs("Scores", scores(), "The step's scores, keys past the end -inf; %0 the lane's key fragment offset, %1 the keys left from its first column."),
         cs("Softmax", softmax(), "The online softmax's step; %0 = scale · log2(e)."),
         cs("Dropout", dropout(), "Inverted dropout on the step's probabilities; %0 prefix, %1 threshold, %2 1 / (1 − p), %3 and %4 the rows' indices."),
         cs("Values", values(), "The output accumulators += probabilities · values; %0 the lane's value fragment offset."),
         cs("Store", store(), "The output rows and log-sum-exps; %0 row g's address, %1 8 rows' bytes, %2 rows left, %3 the log-sum-exp's address, %4 the lane that stores it."),
         cs("BackwardInit", backward_init(), "Declares fb_smem and the registers that live across the backward's statements: dv and dk zeroed."),
         cs("BackwardStage", stage("fb_smem"), "Rounds two consecutive floats (%0, %1) to a bf16 pair at shared offset %2."),
         cs("BackwardStatistic", backward_statistic(), "Stores the float %0 at shared offset %1."),
         cs("BackwardScores", backward_scores(), "The step's scores and dP̃; %0, %1 the lane's A and B fragment offsets, %2 the queries left from its first column."),
         cs("BackwardProbabilities", backward_probabilities(), "P from the scores; %0 = scale · log2(e), %1 = 8t."),
         cs("BackwardGradientsDropped", backward_gradients(True), "dS and dropout(P) with dropout; %0 prefix, %1 threshold, %2 1 / (1 − p), %3 %4 indices, %5 T, %6 = 8t."),
         cs("BackwardGradients", backward_gradients(False), "dS (P as it is); %0 = 8t."),
         cs("BackwardStoreScores", backward_store_scores(), "scale · dS to the scratch; %0 address, %1 4T, %2 keys left, %3 queries left, %4 scale."),
         cs("BackwardValues", backward_values(), "dv += dropout(P) · doutput, dk += dS · q; %0 the lane's .trans fragment offset."),
         cs("BackwardStore", backward_store(), "dqkv += (scale · dk, dv); %0 key g's k address, %1 8 rows' bytes, %2 keys left, %3 4C, %4 scale."),
         cs("QueriesInit", queries_init(), "Declares fc_smem and dq's accumulators, zeroed."),
         cs("QueriesStage", stage("fc_smem"), "Rounds two consecutive floats (%0, %1) to a bf16 pair at shared offset %2."),
         cs("QueriesStep", queries_step(), "dq += the step's dS · k; %0 the lane's A fragment offset, %1 its .trans fragment offset in the key tile."),
         cs("QueriesStore", queries_store(), "dqkv += dq; %0 query g's q address, %1 8 rows' bytes, %2 queries left."),
         cs("Tf32x3Init", init("fx_smem", X_SHARED, 64), "Declares fx_smem and the 3xTF32 forward's registers across statements (Softmax, Dropout and Store's): output 0, maxima -inf, sums 0."),
         cs("Tf32x3Stage", tf32x3_stage(), "Splits four consecutive floats (%0..%3) into big and small at shared offset %4 and %4 + %5."),
         cs("Tf32x3StageValues", tf32x3_stage_values(), "Splits four consecutive floats of a value row (%0..%3) down the transposed tiles' rows from shared offset %4."),
         cs("Tf32x3LoadQueries", tf32x3_load_q(), "The warp's q fragments, big and small, from shared; %0 the lane's offset."),
         cs("Tf32x3Scores", tf32x3_scores(), "The step's scores in 3xTF32, keys past the end -inf; %0 the lane's key fragment offset, %1 the keys left from its first column."),
         cs("Tf32x3Values", tf32x3_values(), "The output accumulators += probabilities · values in 3xTF32; %0 the lane's fragment offset in the transposed values."),
         cs("Tf32x3BackwardInit", backward_init("fz_smem", Z_SHARED, 1, [".reg .b32 fz_k<64>;"]), "Declares fz_smem and the 3xTF32 backward's registers across statements: dv and dk zeroed."),
         cs("Tf32x3BackwardStage", tf32x3_stage("fz_smem"), "Splits four consecutive floats (%0..%3) into big and small at shared offset %4 and %4 + %5."),
         cs("Tf32x3BackwardStatistic", backward_statistic("fz_smem"), "Stores the float %0 at shared offset %1."),
         cs("Tf32x3BackwardLoadKeys", tf32x3_backward_load_keys(), "The warp's k fragments, big and small, from shared; %0 the lane's offset."),
         cs("Tf32x3BackwardScores", tf32x3_backward_scores(), "The step's scores and dP̃ in 3xTF32; %0, %1 the lane's A and B fragment offsets, %2 the queries left from its first column."),
         cs("Tf32x3BackwardProbabilities", backward_probabilities("fz_smem", Z_LSE, 1), "P from the scores; %0 = scale · log2(e), %1 = 8t."),
         cs("Tf32x3BackwardGradientsDropped", backward_gradients(True, "fz_smem", Z_DOT, 1), "dS and dropout(P) with dropout; %0 prefix, %1 threshold, %2 1 / (1 − p), %3 %4 indices, %5 T, %6 = 8t."),
         cs("Tf32x3BackwardGradients", backward_gradients(False, "fz_smem", Z_DOT, 1), "dS (P as it is); %0 = 8t."),
         cs("Tf32x3BackwardStoreScores", backward_store_scores(1), "scale · dS to the scratch; %0 address, %1 4T, %2 keys left, %3 queries left, %4 scale."),
         cs("Tf32x3BackwardValues", tf32x3_backward_values(), "dv += dropout(P) · doutput, dk += dS · q in 3xTF32; %0 the lane's B fragment offset (row 2t, column g)."),
         cs("Tf32x3QueriesInit", queries_init("fy_smem", Y_SHARED), "Declares fy_smem and dq's accumulators (QueriesStore's), zeroed."),
         cs("Tf32x3QueriesStage", tf32x3_stage("fy_smem"), "Splits four consecutive floats (%0..%3) into big and small at shared offset %4 and %4 + %5."),
         cs("Tf32x3QueriesStageKeys", tf32x3_stage_values("fy_smem"), "Splits four consecutive floats of a key row (%0..%3) down the transposed tiles' rows from shared offset %4."),
         cs("Tf32x3QueriesStep", tf32x3_queries_step(), "dq += the step's dS · k in 3xTF32; %0 the lane's A fragment offset, %1 its B fragment offset in the transposed keys.")]

print("""// <auto-generated>
// Generated by tools/flash-attention-asm.py: do not edit; change the script and rerun it
// (python3 tools/flash-attention-asm.py > Cct.Gpu/Layers/TensorCoreFlashAttentionAsm.cs), then check with
// tools/flash-attention-emulate.py.
// </auto-generated>
namespace Cct.Gpu.Layers;

/// <summary>TensorCoreFlashAttention's inline PTX, unrolled (ILGPU takes only constant asm strings); see tools/flash-attention-asm.py for the layout.</summary>
internal static class TensorCoreFlashAttentionAsm
{""")
print(f"    /// <summary>Bytes of a shared row: 64 bf16 and 8 of padding.</summary>\n    public const int RowBytes = {ROW};\n")
print(f"    /// <summary>Byte offset of the key tile in fa_smem.</summary>\n    public const int KeysAt = {K_AT};\n")
print(f"    /// <summary>Byte offset of the value tile in fa_smem.</summary>\n    public const int ValuesAt = {V_AT};\n")
for name, value, what in [("BackwardValuesAt", B_V, "the value tile"), ("BackwardQueriesAt", B_Q, "the step's query tile"),
                          ("BackwardOutputGradientsAt", B_DO, "the step's doutput tile"), ("BackwardLogSumExpsAt", B_LSE, "the step's log-sum-exps"),
                          ("BackwardRowDotsAt", B_DOT, "the step's row dots")]:
    print(f"    /// <summary>Byte offset of {what} in fb_smem.</summary>\n    public const int {name} = {value};\n")
print(f"    /// <summary>Bytes of a shared row of the dq kernel's score tile: 32 bf16 and 8 of padding.</summary>\n    public const int ScoreRowBytes = {SCORE_ROW};\n")
print(f"    /// <summary>Byte offset of the key tile in fc_smem.</summary>\n    public const int QueriesKeysAt = {C_K};\n")
for name, value, what in [("Tf32x3RowBytes", X_ROW, "a 3xTF32 row of q or keys: 64 floats and 4 of padding"),
                          ("Tf32x3ValueRowBytes", XT_ROW, "a 3xTF32 transposed value row: 32 floats and 4 of padding")]:
    print(f"    /// <summary>Bytes of {what}.</summary>\n    public const int {name} = {value};\n")
for name, value, what in [("Tf32x3QueriesSmall", X_Q_SMALL, "q's small tile"), ("Tf32x3KeysSmall", X_K_SMALL, "the keys' small tile"),
                          ("Tf32x3ValuesAt", X_V_AT, "the transposed values' big tile")]:
    print(f"    /// <summary>Byte offset of {what} in fx_smem.</summary>\n    public const int {name} = {value};\n")
for name, value, what in [("Tf32x3BackwardSmall", Z_SMALL, "k's and v's small tiles"), ("Tf32x3BackwardQueriesAt", Z_Q, "the step's q tile"),
                          ("Tf32x3BackwardStepSmall", Z_STEP_SMALL, "a step tile's small part from its big one"),
                          ("Tf32x3BackwardOutputGradientsAt", Z_DO, "the step's doutput tile"), ("Tf32x3BackwardLogSumExpsAt", Z_LSE, "the step's log-sum-exps"),
                          ("Tf32x3BackwardRowDotsAt", Z_DOT, "the step's row dots")]:
    print(f"    /// <summary>Byte offset of {what} in fz_smem.</summary>\n    public const int {name} = {value};\n")
for name, value, what in [("Tf32x3ScoresSmall", Y_SMALL, "the dq kernel's small score tile (and of each small tile from its big one)"),
                          ("Tf32x3QueriesKeysAt", Y_K, "the dq kernel's transposed keys")]:
    print(f"    /// <summary>Byte offset of {what} in fy_smem.</summary>\n    public const int {name} = {value};\n")
print("\n\n".join(parts))
print("}")
