#!/usr/bin/env python3
# TensorCoreGemm's kernels emulated thread by thread, without a GPU: the C# index arithmetic (copied from
# Cct.Gpu/Gemm/TensorCoreGemm.cs, keep them in step) and the inline PTX read from Cct.Gpu/Gemm/TensorCoreAsm.cs, with the
# PTX ISA's fragment layouts for ldmatrix.x4 and mma.m16n8k8.tf32. Each case runs one form (forward with and without bias,
# dinput +=, dweight += and dweight split into partials) at edge shapes (rows, columns and K that are no whole tiles) in
# 3xTF32, TF32 and bf16, and compares with float64 products of the operands as the tensor cores see them (as given for
# 3xTF32, rounded to TF32 or bf16 for the others): only fp32 accumulation may separate them (bound 1e-5; ~2e-6 here),
# where a wrong index errs by O(1). The error against the unrounded operands is printed too: fp32's level for 3xTF32,
# ~2e-3 for TF32, ~2e-2 for bf16. A load the masks let through outside its matrix, or a store outside c, is an error.
# usage: /usr/bin/python3 tools/tensorcore-emulate.py      (needs numpy: Debian's python3-numpy; about a minute)
import os, re, sys
import numpy as np

SRC = open(os.path.join(os.path.dirname(__file__), '..', 'Cct.Gpu', 'Gemm', 'TensorCoreAsm.cs')).read()


def const(name):
    m = re.search(r'public const string ' + name + r' =\n(.*?);\n', SRC, re.S)
    text = ''.join(re.findall(r'"(.*?)\\n"', m.group(1)))
    return [l.strip() for l in text.split(';') if l.strip().strip('{}').strip()]


ASM = {}
for name in ['Init', 'LoadA', 'LoadB', 'Step3', 'Step1', 'StepBf16', 'StorePlain', 'StoreAdd', 'StoreBias'] + \
        [f'{f}Stage{t}' for f in ('Forward', 'InputGradient', 'WeightGradient') for t in (3, 1, 'Bf16')]:
    ASM[name] = const(name)


def tf32(x):
    b = int(np.array([x], dtype=np.float32).view(np.uint32)[0])
    b = (b + 0x1000) & 0xFFFFE000
    return np.array([b], dtype=np.uint32).view(np.float32)[0]


def bf16(x):
    # Round to nearest even, as cvt.rn.bf16x2.f32.
    b = int(np.array([x], dtype=np.float32).view(np.uint32)[0])
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    return np.array([b], dtype=np.uint32).view(np.float32)[0]


class Memory:
    # Global memory: named float32 arrays at byte addresses; an access outside every array is an error.
    def __init__(self):
        self.arrays = []

    def put(self, base, array):
        self.arrays.append((base, array.ravel()))

    def locate(self, address):
        for base, array in self.arrays:
            if base <= address < base + 4 * array.size:
                return array, (address - base) // 4
        raise Exception(f'access outside every matrix at {address:#x}')

    def load(self, address):
        array, i = self.locate(address)
        return np.float32(array[i])

    def store(self, address, value):
        array, i = self.locate(address)
        array[i] = value


TILE, THREADS, STRIDE = 128, 256, 20


class KRows:
    def first(t, r0, k0, rows, depth): return ((r0 + t // 4) * depth + k0 + 4 * (t % 4)) * 4
    def second(rows, depth): return 64 * depth * 4
    def slice(rows): return 16 * 4
    def inside(t, r0, rows): return (1 if r0 + t // 4 < rows else 0) | (2 if r0 + t // 4 + 64 < rows else 0)
    def before(t, left): return 3 if 4 * (t % 4) < left else 0
    def store(t): return ((t // 4) * STRIDE + 4 * (t % 4)) * 4


class KCols:
    def row(t): return 4 * ((t % 32) // 8) + 16 * (t // 32)
    def first(t, r0, k0, rows, depth): return ((k0 + t % 8) * rows + r0 + KCols.row(t)) * 4
    def second(rows, depth): return 8 * rows * 4
    def slice(rows): return 16 * rows * 4
    def inside(t, r0, rows): return 3 if r0 + KCols.row(t) < rows else 0
    def before(t, left): return (1 if t % 8 < left else 0) | (2 if t % 8 + 8 < left else 0)
    def store(t): return (KCols.row(t) * STRIDE + t % 8) * 4


class KRowsBf16(KRows):
    def store(t): return (t // 4) * 48 + 8 * (t % 4)


class KColsBf16(KCols):
    def first(t, r0, k0, rows, depth): return ((k0 + 2 * (t % 8)) * rows + r0 + KCols.row(t)) * 4
    def second(rows, depth): return rows * 4
    def before(t, left): return (1 if 2 * (t % 8) < left else 0) | (2 if 2 * (t % 8) + 1 < left else 0)
    def store(t): return KCols.row(t) * 48 + 4 * (t % 8)


def a_fragment(lane, wr): return ((wr + lane % 8 + 8 * ((lane // 8) % 2)) * STRIDE + 4 * (lane // 16)) * 4
def b_fragment(lane, wc): return ((wc + lane % 8 + 8 * (lane // 16)) * STRIDE + 4 * ((lane // 8) % 2)) * 4
def a_fragment_bf16(lane, wr): return (wr + lane % 16) * 48 + 16 * (lane // 16)
def b_fragment_bf16(lane, wc): return (wc + lane % 8 + 8 * (lane // 16)) * 48 + 16 * ((lane // 8) % 2)


def regs_of(s): return [r.strip() for r in s.strip('{} ').split(',')]


def run_group(mem, p, gx, gy, gz, la, lb, stage, step, store, frag_a, frag_b):
    smem = {}
    R = [dict() for _ in range(THREADS)]

    def value(t, x, args):
        x = x.strip()
        if x.startswith('%'): return args[int(x[1:])]
        if x.startswith('0f'): return np.float32(0)
        if re.fullmatch(r'-?\d+', x): return int(x)
        if x == 'tc_smem': return 0
        # A register a masked load left unset (StoreAdd's v0, v1 past the edge; their store is masked too) reads NaN.
        return R[t].get(x, np.float32(np.nan))

    def addr(t, expr, args):
        base, _, off = expr.strip('[] ').partition('+')
        return value(t, base, args) + (int(off) if off else 0)

    def execute(name, argf):
        lines, collective = ASM[name], []
        for t in range(THREADS):
            args = argf(t)
            for l in lines:
                l = l.strip().lstrip('{}').strip()
                if l.startswith('.reg') or l.startswith('.shared'): continue
                guard = None
                if l.startswith('@'):
                    guard, l = l.split(' ', 1)
                    neg = guard.startswith('@!')
                    if R[t][guard.lstrip('@!')] == neg: continue
                op, _, rest = l.partition(' ')
                if op.startswith('ldmatrix') or op.startswith('mma'):
                    if t == 0: collective.append((op, rest))
                    continue
                ops = [s.strip() for s in re.split(r',(?![^{]*})', rest)]
                if op in ('mov.f32', 'mov.u32', 'mov.b64'): R[t][ops[0]] = value(t, ops[1], args)
                elif op in ('add.u32', 'add.s64'): R[t][ops[0]] = value(t, ops[1], args) + value(t, ops[2], args)
                elif op == 'and.b32': R[t][ops[0]] = value(t, ops[1], args) & value(t, ops[2], args)
                elif op == 'setp.ne.b32': R[t][ops[0]] = value(t, ops[1], args) != value(t, ops[2], args)
                elif op == 'setp.gt.s32': R[t][ops[0]] = value(t, ops[1], args) > value(t, ops[2], args)
                elif op == 'and.pred': R[t][ops[0]] = R[t][ops[1]] and R[t][ops[2]]
                elif op == 'cvt.rna.tf32.f32': R[t][ops[0]] = tf32(R[t][ops[1]])
                elif op == 'cvt.rn.bf16x2.f32': R[t][ops[0]] = (bf16(R[t][ops[2]]), bf16(R[t][ops[1]]))  # (lower, upper)
                elif op == 'sub.f32': R[t][ops[0]] = np.float32(value(t, ops[1], args) - value(t, ops[2], args))
                elif op == 'add.f32': R[t][ops[0]] = np.float32(value(t, ops[1], args) + value(t, ops[2], args))
                elif op.startswith('ld.global'):
                    at = addr(t, ops[1], args)
                    for i, r in enumerate(regs_of(ops[0])): R[t][r] = mem.load(at + 4 * i)
                elif op in ('st.shared.v4.b32', 'st.shared.v2.b32', 'st.shared.b32'):
                    at = addr(t, ops[0], args)
                    for i, r in enumerate(regs_of(ops[1])): smem[at + 4 * i] = R[t][r]
                elif op == 'st.global.v2.f32':
                    at = addr(t, ops[0], args)
                    for i, r in enumerate(regs_of(ops[1])): mem.store(at + 4 * i, R[t][r])
                else: raise Exception('unemulated ' + op)
        for w in range(THREADS // 32):
            ts = range(32 * w, 32 * w + 32)
            for op, rest in collective:
                if op.startswith('ldmatrix'):
                    regs, ad = rest.split('},')
                    regs = regs_of(regs)
                    addrs = [addr(t, ad, argf(t)) for t in ts]
                    for lane, t in enumerate(ts):
                        for q in range(4):
                            # matrix q's row lane//4 from lane 8q + lane//4; a 32-bit element = b16 pair (2·(lane%4), +1)
                            R[t][regs[q]] = smem[addrs[8 * q + lane // 4] + 4 * (lane % 4)]
                elif 'm16n8k16' in op:
                    # bf16: each register a pair along k, (lower, upper) = (k, k + 1).
                    d, ar, br, cr = [regs_of(x) for x in re.findall(r'\{(.*?)\}', rest)]
                    Am = np.zeros((16, 16)); Bm = np.zeros((16, 8)); Cm = np.zeros((16, 8))
                    for lane, t in enumerate(ts):
                        g, tg = lane // 4, lane % 4
                        for reg, (row, k) in zip(ar, [(g, 2 * tg), (g + 8, 2 * tg), (g, 2 * tg + 8), (g + 8, 2 * tg + 8)]):
                            Am[row, k], Am[row, k + 1] = R[t][reg]
                        for reg, k in zip(br, [2 * tg, 2 * tg + 8]):
                            Bm[k, g], Bm[k + 1, g] = R[t][reg]
                        Cm[g, 2 * tg], Cm[g, 2 * tg + 1], Cm[g + 8, 2 * tg], Cm[g + 8, 2 * tg + 1] = [R[t][r] for r in cr]
                    Dm = (Am @ Bm + Cm).astype(np.float32)
                    for lane, t in enumerate(ts):
                        g, tg = lane // 4, lane % 4
                        for r, v in zip(d, [Dm[g, 2 * tg], Dm[g, 2 * tg + 1], Dm[g + 8, 2 * tg], Dm[g + 8, 2 * tg + 1]]): R[t][r] = v
                else:
                    d, ar, br, cr = [regs_of(x) for x in re.findall(r'\{(.*?)\}', rest)]
                    Am = np.zeros((16, 8)); Bm = np.zeros((8, 8)); Cm = np.zeros((16, 8))
                    for lane, t in enumerate(ts):
                        g, tg = lane // 4, lane % 4
                        Am[g, tg], Am[g + 8, tg], Am[g, tg + 4], Am[g + 8, tg + 4] = [R[t][r] for r in ar]
                        Bm[tg, g], Bm[tg + 4, g] = [R[t][r] for r in br]
                        Cm[g, 2 * tg], Cm[g, 2 * tg + 1], Cm[g + 8, 2 * tg], Cm[g + 8, 2 * tg + 1] = [R[t][r] for r in cr]
                    Dm = (Am @ Bm + Cm).astype(np.float32)
                    for lane, t in enumerate(ts):
                        g, tg = lane // 4, lane % 4
                        for r, v in zip(d, [Dm[g, 2 * tg], Dm[g, 2 * tg + 1], Dm[g + 8, 2 * tg], Dm[g + 8, 2 * tg + 1]]): R[t][r] = v

    C, A, B, Bias, M, N, K, chunk = p
    m0, n0 = gy * TILE, gx * TILE
    k_begin = gz * chunk
    k_end = min(K, k_begin + chunk)
    st = {t: dict(a_store=la.store(t), b_store=lb.store(t), a_frag=frag_a(t % 32, 64 * ((t // 32) // 4)),
                  b_frag=frag_b(t % 32, 32 * ((t // 32) % 4)), a_second=la.second(M, K), b_second=lb.second(N, K),
                  a_slice=la.slice(M), b_slice=lb.slice(N),
                  inside=la.inside(t, m0, M) | (lb.inside(t, n0, N) << 2),
                  a_at=A + la.first(t, m0, k_begin, M, K), b_at=B + lb.first(t, n0, k_begin, N, K)) for t in range(THREADS)}

    def loads(left):
        execute('LoadA', lambda t: [st[t]['a_at'], st[t]['a_at'] + st[t]['a_second'], st[t]['inside'] & la.before(t, left)])
        execute('LoadB', lambda t: [st[t]['b_at'], st[t]['b_at'] + st[t]['b_second'], (st[t]['inside'] >> 2) & lb.before(t, left)])

    execute('Init', lambda t: [])
    loads(k_end - k_begin)
    left = k_end - k_begin
    while left > 0:
        execute(stage, lambda t: [st[t]['a_store'], st[t]['b_store']])
        if left > 16:
            for t in range(THREADS):
                st[t]['a_at'] += st[t]['a_slice']; st[t]['b_at'] += st[t]['b_slice']
            loads(left - 16)
        execute(step, lambda t: [st[t]['a_frag'], st[t]['b_frag']])
        left -= 16

    def store_args(t):
        warp, lane = t // 32, t % 32
        first_row = gy * TILE + 64 * (warp // 4) + lane // 4
        first_column = gx * TILE + 32 * (warp % 4) + 2 * (lane % 4)
        return [C + (gz * M * N + first_row * N + first_column) * 4, 8 * N * 4, M - first_row, N - first_column, Bias + first_column * 4]
    execute(store, store_args)


def run(name, form, terms, store, M, N, K, a, b, c, bias=None, chunk=None):
    # a, b as they lie in memory (KRows: (rows, K); KCols: (K, rows)); c (splits, M, N) or (M, N).
    mem = Memory()
    aB, bB, cB, biasB = 0x1000000, 0x2000000, 0x3000000, 0x4000000
    mem.put(aB, a); mem.put(bB, b); mem.put(cB, c)
    if bias is not None: mem.put(biasB, bias)
    if terms == 'Bf16':
        la, lb = {'Forward': (KRowsBf16, KRowsBf16), 'InputGradient': (KRowsBf16, KColsBf16), 'WeightGradient': (KColsBf16, KColsBf16)}[form]
        frags = (a_fragment_bf16, b_fragment_bf16)
    else:
        la, lb = {'Forward': (KRows, KRows), 'InputGradient': (KRows, KCols), 'WeightGradient': (KCols, KCols)}[form]
        frags = (a_fragment, b_fragment)
    chunk = chunk or K
    splits = (K + chunk - 1) // chunk
    p = (cB, aB, bB, biasB if bias is not None else 0, M, N, K, chunk)
    for gz in range(splits):
        for gy in range((M + TILE - 1) // TILE):
            for gx in range((N + TILE - 1) // TILE):
                run_group(mem, p, gx, gy, gz, la, lb, f'{form}Stage{terms}', f'Step{terms}', store, *frags)
    return c


rng = np.random.default_rng(1)
def uniform(*shape): return rng.uniform(-1, 1, shape).astype(np.float32)
failures = 0
ROUND = {3: lambda x: x, 1: np.vectorize(tf32), 'Bf16': np.vectorize(bf16)}


def exact(terms, x):
    # The operands as the tensor cores see them: as given (3xTF32 is fp32-accurate), or rounded to TF32 or bf16.
    return ROUND[terms](x).astype(np.float64)


def report(name, got, want, terms, plain):
    # want: float64 from the rounded operands, so that only fp32 accumulation separates them (a wrong index errs by
    # O(1)); plain: float64 from the operands as given, the precision's own error, printed for the record.
    global failures
    err = np.abs(got.astype(np.float64) - want).max()
    ok = np.isfinite(got).all() and err < 1e-5
    failures += not ok
    print(f'{name}: max error {err:.3g} against the rounded operands (bound 1e-05), '
          f'{np.abs(got.astype(np.float64) - plain).max():.3g} against fp64 {"ok" if ok else "FAIL"}')


for terms in (3, 1, 'Bf16'):
    # Forward: c (M, N) = a (M, K) · b (N, K)ᵀ + bias; 200 rows = a tile and 72, 132 columns = a tile and 4, K 36 = 2 steps and 4.
    M, N, K = 200, 132, 36
    a, b, bias = uniform(M, K), uniform(N, K), uniform(N)
    c = np.full((M, N), np.nan, np.float32)
    run('forward+bias', 'Forward', terms, 'StoreBias', M, N, K, a, b, c, bias)
    report(f'forward+bias {terms}', c, exact(terms, a) @ exact(terms, b).T + bias, terms, a.astype(np.float64) @ b.astype(np.float64).T + bias)
    if terms != 3:
        c = np.full((M, N), np.nan, np.float32)
        run('forward', 'Forward', terms, 'StorePlain', M, N, K, a, b, c)
        report(f'forward {terms}', c, exact(terms, a) @ exact(terms, b).T, terms, a.astype(np.float64) @ b.astype(np.float64).T)
    # dinput (rows, in) += doutput (rows, out) · weight (out, in): M = rows 136, N = in 132, K = out 36.
    M, N, K = 136, 132, 36
    dout, w, dinput = uniform(M, K), uniform(K, N), uniform(M, N)
    want = dinput.astype(np.float64) + exact(terms, dout) @ exact(terms, w)
    plain = dinput.astype(np.float64) + dout.astype(np.float64) @ w.astype(np.float64)
    run('dinput', 'InputGradient', terms, 'StoreAdd', M, N, K, dout, w, dinput)
    report(f'dinput += {terms}', dinput, want, terms, plain)
    # dweight (out, in) += doutput (rows, out)ᵀ · input (rows, in): M = out 132, N = in 36, K = rows 200.
    M, N, K = 132, 36, 200
    dout, x, dweight = uniform(K, M), uniform(K, N), uniform(M, N)
    want = dweight.astype(np.float64) + exact(terms, dout).T @ exact(terms, x)
    plain = dweight.astype(np.float64) + dout.astype(np.float64).T @ x.astype(np.float64)
    if terms == 3:
        # Split into chunks of 64 rows (the last of 8), as TensorCoreGemm.SplitK does: partials, then their sum in order.
        partials = np.full((4, M, N), np.nan, np.float32)
        run('dweight split', 'WeightGradient', terms, 'StorePlain', M, N, K, dout, x, partials, chunk=64)
        got = dweight + partials.sum(axis=0, dtype=np.float32)
    else:
        got = dweight
        run('dweight', 'WeightGradient', terms, 'StoreAdd', M, N, K, dout, x, got)
    report(f'dweight {"split " if terms == 3 else ""}+= {terms}', got, want, terms, plain)

sys.exit(1 if failures else 0)
