#!/usr/bin/env python3
# TensorCoreGemm's kernel emulated thread by thread, without a GPU: the C# index arithmetic (copied from
# Cct.Gpu/Gemm/TensorCoreGemm.cs, keep them in step) and the inline PTX read from the file's const strings, with the PTX
# ISA's fragment layouts for ldmatrix.x4 and mma.m16n8k8.tf32. Prints the largest error against float64; it should be
# at fp32's level (~1e-6 here), where 1xTF32 errs by ~3e-3 and a wrong index by O(1).
# The kernel's structure (Init, Load, then per K step Stage, Load of the next slice, Step; Store) is copied too.
# usage: /usr/bin/python3 tools/tensorcore-emulate.py      (needs numpy: Debian's python3-numpy)
import re, numpy as np
src = open(__import__('os').path.join(__import__('os').path.dirname(__file__), '..', 'Cct.Gpu', 'Gemm', 'TensorCoreGemm.cs')).read()
def const(name):
    # The const's literals in order, with a reference to another const (WarpMmaAsm in StepAsm) folded in as C# folds it.
    m = re.search(r'private const string ' + name + r' =\n(.*?);\n', src, re.S)
    return ''.join(const(part) if part and not part.startswith('"') else ''.join(re.findall(r'"(.*?)\\n"', part))
                   for part in (p.strip() for p in re.split(r'\s\+\s*\n|\s\+$', m.group(1).strip())))
ASM = {n: [l for l in const(n).split(';') if l.strip().lstrip('{}').strip()] for n in ['InitAsm','LoadAsm','StageAsm','StepAsm','StoreAsm']}
def tf32(x):
    b = np.array([x], dtype=np.float32).view(np.uint32)[0]
    b = (int(b) + 0x1000) & 0xFFFFE000
    return np.array([b], dtype=np.uint32).view(np.float32)[0]
M, N, K = 256, 384, 48
T = 256  # threads per group
rng = np.random.default_rng(1)
A = rng.uniform(-1, 1, (M, K)).astype(np.float32); B = rng.uniform(-1, 1, (N, K)).astype(np.float32)
C = np.full((M, N), np.nan, np.float32)
gmem = {}  # byte address -> float32
def put(base, arr):
    for i, v in enumerate(arr.ravel()): gmem[base + 4*i] = np.float32(v)
aB, bB, cB = 0x100000, 0x200000, 0x300000
put(aB, A); put(bB, B)
def regs_of(s): return [r.strip() for r in s.strip('{} ').split(',')]
def run_group(gx, gy):
    smem = {}
    R = [dict() for _ in range(T)]  # per thread registers
    warp = lambda t: t // 32
    args = {}
    for t in range(T):
        w, lane = t // 32, t % 32
        m0, n0 = gy*128, gx*128
        row, quad = t//4, 4*(t%4)
        store = row*80 + quad*4
        aRow = aB + ((m0+row)*K + quad)*4; bRow = bB + ((n0+row)*K + quad)*4; below = 64*K*4
        warpRow, warpColumn = 64*(w//4), 32*(w%4)
        aF = ((warpRow + lane%8 + 8*((lane//8)%2))*20 + 4*(lane//16))*4
        bF = 20480 + ((warpColumn + lane%8 + 8*(lane//16))*20 + 4*((lane//8)%2))*4
        cRow = cB + (((m0 + warpRow + lane//4))*N + n0 + warpColumn + 2*(lane%4))*4
        eight = 8*N*4
        args[t] = dict(aRow=aRow, bRow=bRow, below=below, store=store, aF=aF, bF=bF, cRow=cRow, eight=eight)
    def addr(t, expr, a):
        expr = expr.strip('[] ')
        base, _, off = expr.partition('+')
        base = base.strip()
        v = a[int(base[1:])] if base.startswith('%') else R[t][base]
        return v + (int(off) if off else 0)
    def execute(name, argf):
        lines = ASM[name]
        for t in range(T):
            a = argf(t)
            pending = []
            for l in lines:
                l = l.strip().lstrip('{}').strip()
                if l.startswith('.reg') or l.startswith('.shared') : continue
                op, _, rest = l.partition(' ')
                if op.startswith('ldmatrix') or op.startswith('mma'):
                    pending.append((op, rest)); continue
                if op == 'mov.f32': d, v = [x.strip() for x in rest.split(',')]; R[t][d] = np.float32(0)
                elif op == 'mov.b64': d, x = [s.strip() for s in rest.split(',')]; R[t][d] = a[int(x[1:])]
                elif op == 'add.s64': d, x, y = [s.strip() for s in rest.split(',')]; R[t][d] = R[t][x] + a[int(y[1:])]
                elif op == 'ld.global.nc.v4.f32':
                    regs, ad = rest.split('},'); ad = addr(t, ad, a)
                    for i, r in enumerate(regs_of(regs)): R[t][r] = gmem[ad + 4*i]
                elif op == 'cvt.rna.tf32.f32': d, x = [s.strip() for s in rest.split(',')]; R[t][d] = tf32(R[t][x])
                elif op == 'sub.f32': d, x, y = [s.strip() for s in rest.split(',')]; R[t][d] = np.float32(R[t][x] - R[t][y])
                elif op == 'mov.u32': d, _ = [s.strip() for s in rest.split(',')]; R[t][d] = 0
                elif op == 'add.u32':
                    d, x, y = [s.strip() for s in rest.split(',')]
                    R[t][d] = R[t][x] + (a[int(y[1:])] if y.startswith('%') else R[t][y])
                elif op == 'st.shared.v4.b32':
                    ad, regs = rest.split('],'); ad = addr(t, ad, a)
                    for i, r in enumerate(regs_of(regs)): smem[ad + 4*i] = R[t][r]
                elif op == 'st.global.v2.f32':
                    ad, regs = rest.split('],'); ad = addr(t, ad, a)
                    for i, r in enumerate(regs_of(regs)):
                        e = (ad + 4*i - cB)//4; C[e // N, e % N] = R[t][r]
                else: raise Exception(op)
            R[t]['_pending'] = pending
        # warp-collective instructions, in program order, per warp
        if any(R[t]['_pending'] for t in range(T)):
            for w in range(T // 32):
                ts = range(32*w, 32*w+32)
                for idx, (op, rest) in enumerate(R[32*w]['_pending']):
                    if op.startswith('ldmatrix'):
                        regs, ad = rest.split('},')
                        regs = regs_of(regs)
                        addrs = [addr(t, ad, argf(t)) for t in ts]
                        for lane, t in enumerate(ts):
                            for q in range(4):
                                # matrix q's row lane//4 from lane 8q + lane//4; a 32-bit element = b16 pair (2·(lane%4), +1)
                                R[t][regs[q]] = smem[addrs[8*q + lane//4] + 4*(lane % 4)]
                    else:
                        parts = re.findall(r'\{(.*?)\}', rest)
                        d, ar, br, cr = [regs_of(p) for p in parts]
                        Am = np.zeros((16, 8)); Bm = np.zeros((8, 8)); Cm = np.zeros((16, 8))
                        for lane, t in enumerate(ts):
                            g, tg = lane//4, lane%4
                            Am[g, tg], Am[g+8, tg], Am[g, tg+4], Am[g+8, tg+4] = [R[t][r] for r in ar]
                            Bm[tg, g], Bm[tg+4, g] = [R[t][r] for r in br]
                            Cm[g, 2*tg], Cm[g, 2*tg+1], Cm[g+8, 2*tg], Cm[g+8, 2*tg+1] = [R[t][r] for r in cr]
                        Dm = (Am @ Bm + Cm).astype(np.float32)
                        for lane, t in enumerate(ts):
                            g, tg = lane//4, lane%4
                            for r, v in zip(d, [Dm[g, 2*tg], Dm[g, 2*tg+1], Dm[g+8, 2*tg], Dm[g+8, 2*tg+1]]): R[t][r] = v
    def load(k0):
        st = k0*4
        execute('LoadAsm', lambda t: [args[t]['aRow']+st, args[t]['aRow']+args[t]['below']+st, args[t]['bRow']+st, args[t]['bRow']+args[t]['below']+st])
    execute('InitAsm', lambda t: [])
    load(0)
    for k0 in range(0, K, 16):
        execute('StageAsm', lambda t: [args[t]['store']])
        if k0 + 16 < K:
            load(k0 + 16)
        execute('StepAsm', lambda t: [args[t]['aF'], args[t]['bF']])
    execute('StoreAsm', lambda t: [args[t]['cRow'], args[t]['eight']])
for gy in range(M//128):
    for gx in range(N//128):
        run_group(gx, gy)
ref = A.astype(np.float64) @ B.astype(np.float64).T
print('nan left', np.isnan(C).sum(), 'max abs err', np.nanmax(np.abs(C - ref)), 'fp32 matmul err', np.abs((A @ B.T) - ref).max())
tfonly = np.vectorize(tf32)(A).astype(np.float64) @ np.vectorize(tf32)(B).astype(np.float64).T
print('1xTF32 err would be', np.abs(tfonly - ref).max())
worst = np.nanmax(np.abs(C - ref)) if not np.isnan(C).any() else np.inf
raise SystemExit(0 if worst < 1e-5 else f"tensorcore-emulate: error {worst:.3g} is not fp32-level")
