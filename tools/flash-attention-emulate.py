#!/usr/bin/env python3
# TensorCoreFlashAttention's kernel emulated warp by warp, without a GPU: the C# index arithmetic (copied from
# Cct.Gpu/Layers/TensorCoreFlashAttention.cs, keep them in step) and the inline PTX read from
# Cct.Gpu/Layers/TensorCoreFlashAttentionAsm.cs, interpreted with the PTX ISA's semantics (ldmatrix and its .trans,
# mma.m16n8k16 bf16 fragment layouts, shfl.sync.bfly, ex2/lg2 as float32 exp2/log2). Each case compares the output and
# log-sum-exp with two references in float64:
#   - "tiled": the same walk (32 keys a step, the running max, bf16 rounding of q, k, v and of each step's probabilities
#     at the same points, the same dropout mask), so only fp32 arithmetic separates it from the kernel (bound 1e-4, ~1e-6
#     here), where a wrong index, a wrong mask element or a misplaced fragment errs by 1e-3 or more;
#   - "exact": softmax attention of the unrounded inputs, which shows bf16's own error (printed, bound 2.5e-2).
# Dropout's mask is RngKey.Uniform's hash (Cct.Gpu/Runtime/RngKey.cs), recomputed here.
# An mma rounds its sum to nearest here. CCT_EMULATE_MMA=h100 (or a100) sums as those tensor cores do instead, by the
# block model in tools/tensorcore-accuracy.py (truncating: Khattak and Mikaitis). The 3xTF32 cases keep their bounds
# against exact attention. The bf16 cases are then held to their exact bounds only: their "tiled" reference assumes
# nearest, and one cut in fp32 can flip a later bf16 rounding of P or dS.
# usage: [CCT_EMULATE_MMA=nearest|h100|a100] /usr/bin/python3 tools/flash-attention-emulate.py [ASM.cs]
#        (needs numpy: Debian's python3-numpy; about a minute)
import importlib.util, math, os, re, sys
import numpy as np


def mma_model(name):
    # tools/tensorcore-accuracy.py's block model and the GPU's parameters (its load_model), or None to round to nearest.
    spec = importlib.util.spec_from_file_location('tensorcore_accuracy', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'tensorcore-accuracy.py'))
    model = importlib.util.module_from_spec(spec)
    sys.modules['tensorcore_accuracy'] = model
    spec.loader.exec_module(model)
    return model.load_model(name)


MMA_MODEL = os.environ.get('CCT_EMULATE_MMA', 'nearest')
HARDWARE = mma_model(MMA_MODEL)


def mma_sum(A, B, C, fmt):
    # d = A·B + C for one mma (A (16, K), B (K, 8), C (16, 8) in float64), as fp32.
    if HARDWARE is None:
        return (A @ B + C).astype(np.float32)
    model, gpu = HARDWARE
    return model.hardware_mma(A, B, C, gpu, fmt)


SRC = open(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'Cct.Gpu', 'Layers', 'TensorCoreFlashAttentionAsm.cs')).read()


def const_string(name):
    m = re.search(r'public const string ' + name + r' =\n(.*?);\n', SRC, re.S)
    return [l.strip() for l in re.findall(r'"(.*?)\\n"', m.group(1))]


def const_int(name):
    return int(re.search(r'public const int ' + name + r' = (\d+);', SRC).group(1))


ASM = {n: const_string(n) for n in ['Init', 'Stage', 'LoadQueries', 'Scores', 'Softmax', 'Dropout', 'Values', 'Store',
                                    'BackwardInit', 'BackwardStage', 'BackwardStatistic', 'BackwardScores', 'BackwardProbabilities',
                                    'BackwardGradientsDropped', 'BackwardGradients', 'BackwardStoreScores', 'BackwardValues', 'BackwardStore',
                                    'QueriesInit', 'QueriesStage', 'QueriesStep', 'QueriesStore',
                                    'Tf32x3Init', 'Tf32x3Stage', 'Tf32x3StageValues', 'Tf32x3LoadQueries', 'Tf32x3Scores', 'Tf32x3Values',
                                    'Tf32x3QueriesInit', 'Tf32x3QueriesStage', 'Tf32x3QueriesStageKeys', 'Tf32x3QueriesStep',
                                    'Tf32x3BackwardInit', 'Tf32x3BackwardStage', 'Tf32x3BackwardStatistic', 'Tf32x3BackwardLoadKeys',
                                    'Tf32x3BackwardScores', 'Tf32x3BackwardProbabilities', 'Tf32x3BackwardGradientsDropped',
                                    'Tf32x3BackwardGradients', 'Tf32x3BackwardStoreScores', 'Tf32x3BackwardValues']}
ROW, KEYS_AT, VALUES_AT = const_int('RowBytes'), const_int('KeysAt'), const_int('ValuesAt')
B_V, B_Q, B_DO = const_int('BackwardValuesAt'), const_int('BackwardQueriesAt'), const_int('BackwardOutputGradientsAt')
B_LSE, B_DOT = const_int('BackwardLogSumExpsAt'), const_int('BackwardRowDotsAt')
SCORE_ROW, C_K = const_int('ScoreRowBytes'), const_int('QueriesKeysAt')
X_ROW, XT_ROW = const_int('Tf32x3RowBytes'), const_int('Tf32x3ValueRowBytes')
X_Q_SMALL, X_K_SMALL, X_V_AT = const_int('Tf32x3QueriesSmall'), const_int('Tf32x3KeysSmall'), const_int('Tf32x3ValuesAt')
Y_SMALL, Y_K = const_int('Tf32x3ScoresSmall'), const_int('Tf32x3QueriesKeysAt')
Z_SMALL, Z_Q, Z_STEP_SMALL = const_int('Tf32x3BackwardSmall'), const_int('Tf32x3BackwardQueriesAt'), const_int('Tf32x3BackwardStepSmall')
Z_DO, Z_LSE, Z_DOT = const_int('Tf32x3BackwardOutputGradientsAt'), const_int('Tf32x3BackwardLogSumExpsAt'), const_int('Tf32x3BackwardRowDotsAt')
Z_QUERY_ROWS = 8
QUERY_ROWS, KEY_ROWS, THREADS, HEAD = 64, 32, 128, 64
LANES = np.arange(32)
F32, U32, U64 = np.float32, np.uint32, np.uint64


def bf16_bits(x):
    b = np.asarray(x, dtype=F32).view(U32).astype(np.uint64)
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint32) & 0xFFFF


def bf16(x):
    return (bf16_bits(x).astype(U32) << 16).view(F32)


def tf32_bits(x):
    # cvt.rna.tf32.f32: 10 mantissa bits, round to nearest with ties away from zero (on the magnitude's bits).
    b = np.asarray(x, dtype=F32).view(U32).astype(np.uint64)
    return ((((b & 0x7FFFFFFF) + 0x1000) & 0x7FFFE000) | (b & 0x80000000)).astype(U32)


def mix(x):
    x = np.asarray(x, dtype=np.uint64) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & 0xFFFFFFFF
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def uniform_bits(prefix, index):
    # RngKey.Uniform's 24-bit draw (h >> 8) at each index.
    index = np.asarray(index, dtype=np.uint64)
    h = mix(np.uint64(prefix) ^ (index & 0xFFFFFFFF))
    h = mix(h ^ (index >> 32) ^ 0x27D4EB2F)
    return h >> 8


class Global:
    # Named float32 arrays at byte addresses; a store outside every array is an error.
    def __init__(self):
        self.arrays = []

    def put(self, base, array):
        self.arrays.append((base, array))

    def load(self, address):
        for base, array in self.arrays:
            if base <= address < base + 4 * array.size:
                return F32(array.reshape(-1)[(address - base) // 4])
        raise Exception(f'load outside every array at {address:#x}')

    def store(self, address, value):
        for base, array in self.arrays:
            if base <= address < base + 4 * array.size:
                array.reshape(-1)[(address - base) // 4] = value
                return
        raise Exception(f'store outside every array at {address:#x}')


class Warp:
    # One warp's registers: 32-bit ones as uint32 bit patterns, 64-bit as uint64, predicates as bool, 32 lanes each.
    def __init__(self, smem, memory):
        self.smem, self.memory, self.scopes = smem, memory, [{}]

    def declare(self, line):
        m = re.fullmatch(r'\.reg \.(\w+) (.*);', line)
        kind = m.group(1)
        for item in m.group(2).split(','):
            item = item.strip()
            r = re.fullmatch(r'(\w+)<(\d+)>', item)
            names = [f'{r.group(1)}{i}' for i in range(int(r.group(2)))] if r else [item]
            for n in names:
                self.scopes[-1][n] = (kind, np.zeros(32, dtype=bool if kind == 'pred' else U64 if kind.endswith('64') else U32))

    def find(self, name):
        for scope in reversed(self.scopes):
            if name in scope:
                return scope
        raise Exception(f'undeclared register {name}')

    def get(self, x, args):
        x = x.strip()
        if x.startswith('%'):
            return args[int(x[1:])]
        if x.startswith('0f'):
            return np.full(32, int(x[2:], 16), dtype=U32)
        if re.fullmatch(r'-?(0x[0-9A-Fa-f]+|\d+)', x):
            return np.full(32, int(x, 0) & 0xFFFFFFFFFFFFFFFF, dtype=U64)
        if x in ('fa_smem', 'fb_smem', 'fc_smem', 'fx_smem', 'fy_smem', 'fz_smem'):
            return np.zeros(32, dtype=U32)
        return self.find(x)[x][1]

    def set(self, name, value, mask=None):
        scope = self.find(name)
        kind, old = scope[name]
        value = np.asarray(value)
        if kind == 'pred':
            new = value.astype(bool)
        elif kind.endswith('64'):
            new = value.astype(U64)
        else:
            new = (value.astype(np.uint64) & 0xFFFFFFFF).astype(U32) if value.dtype != U32 else value
        scope[name] = (kind, np.where(mask, new, old) if mask is not None else new.copy())

    def f(self, x, args):
        return (np.asarray(self.get(x, args)).astype(np.uint64) & 0xFFFFFFFF).astype(U32).view(F32)

    def u(self, x, args):
        return np.asarray(self.get(x, args)).astype(np.uint64)

    def s32(self, x, args):
        return (self.u(x, args) & 0xFFFFFFFF).astype(U32).view(np.int32).astype(np.int64)

    def address(self, expr, args):
        m = re.fullmatch(r'\[([%\w]+)(?:\+(\d+))?\]', expr.strip())
        return self.u(m.group(1), args) + np.uint64(int(m.group(2) or 0))

    def run(self, lines, args):
        for line in lines:
            self.step(line, args)

    def step(self, line, args):
        if line == '{':
            self.scopes.append({})
            return
        if line == '}':
            self.scopes.pop()
            return
        if line.startswith('.shared'):
            return
        if line.startswith('.reg'):
            self.declare(line)
            return
        mask = None
        m = re.fullmatch(r'@(\w+) (.*)', line)
        if m:
            mask, line = self.get(m.group(1), args).astype(bool), m.group(2)
        op, rest = line.rstrip(';').split(' ', 1)
        ops = [o.strip() for o in re.split(r',(?![^{]*\})', rest)]
        f32 = lambda v: np.asarray(v, dtype=F32).view(U32)
        if op == 'mov.b64' and ops[0].startswith('{'):
            lo, hi = [r.strip() for r in ops[0].strip('{}').split(',')]
            v = self.u(ops[1], args)
            self.set(lo, v & 0xFFFFFFFF)
            self.set(hi, v >> 32)
        elif op in ('mov.f32', 'mov.u32', 'mov.b64'):
            self.set(ops[0], self.get(ops[1], args))
        elif op == 'add.u32':
            self.set(ops[0], (self.u(ops[1], args) + self.u(ops[2], args)) & 0xFFFFFFFF)
        elif op == 'add.s64':
            self.set(ops[0], self.u(ops[1], args) + self.u(ops[2], args))
        elif op == 'mul.lo.s64':
            self.set(ops[0], self.u(ops[1], args) * self.u(ops[2], args))
        elif op in ('add.f32', 'sub.f32', 'mul.f32', 'max.f32'):
            a, b = self.f(ops[1], args), self.f(ops[2], args)
            with np.errstate(invalid='ignore', over='ignore'):
                r = {'add.f32': a + b, 'sub.f32': a - b, 'mul.f32': a * b, 'max.f32': np.maximum(a, b)}[op]
            self.set(ops[0], f32(r))
        elif op == 'neg.f32':
            self.set(ops[0], f32(-self.f(ops[1], args)))
        elif op == 'fma.rn.f32':
            with np.errstate(invalid='ignore', over='ignore'):
                r = (self.f(ops[1], args).astype(np.float64) * self.f(ops[2], args) + self.f(ops[3], args)).astype(F32)
            self.set(ops[0], f32(r))
        elif op == 'ex2.approx.ftz.f32':
            with np.errstate(over='ignore'):
                self.set(ops[0], f32(np.exp2(self.f(ops[1], args))))
        elif op == 'lg2.approx.f32':
            with np.errstate(divide='ignore', invalid='ignore'):
                self.set(ops[0], f32(np.log2(self.f(ops[1], args))))
        elif op == 'rcp.rn.f32':
            with np.errstate(divide='ignore'):
                self.set(ops[0], f32(F32(1) / self.f(ops[1], args)))
        elif op == 'xor.b32':
            self.set(ops[0], (self.u(ops[1], args) ^ self.u(ops[2], args)) & 0xFFFFFFFF)
        elif op == 'shr.u32':
            self.set(ops[0], (self.u(ops[1], args) & 0xFFFFFFFF) >> self.u(ops[2], args))
        elif op == 'mul.lo.u32':
            self.set(ops[0], (self.u(ops[1], args) * self.u(ops[2], args)) & 0xFFFFFFFF)
        elif op == 'setp.gt.s32':
            self.set(ops[0], self.s32(ops[1], args) > self.s32(ops[2], args))
        elif op == 'setp.ne.s32':
            self.set(ops[0], self.s32(ops[1], args) != self.s32(ops[2], args))
        elif op == 'setp.ge.u32':
            self.set(ops[0], (self.u(ops[1], args) & 0xFFFFFFFF) >= (self.u(ops[2], args) & 0xFFFFFFFF))
        elif op == 'selp.f32':
            p = self.get(ops[3], args).astype(bool)
            self.set(ops[0], np.where(p, self.u(ops[1], args), self.u(ops[2], args)) & 0xFFFFFFFF)
        elif op == 'and.pred':
            self.set(ops[0], self.get(ops[1], args).astype(bool) & self.get(ops[2], args).astype(bool))
        elif op == 'cvt.rn.bf16x2.f32':
            self.set(ops[0], (bf16_bits(self.f(ops[1], args)) << 16) | bf16_bits(self.f(ops[2], args)))
        elif op == 'cvt.rna.tf32.f32':
            self.set(ops[0], tf32_bits(self.f(ops[1], args)))
        elif op == 'st.shared.v4.b32':
            at = self.address(ops[0], args)
            vs = [self.u(r.strip(), args) for r in ops[1].strip('{}').split(',')]
            for lane in LANES:
                a = int(at[lane])
                assert a % 16 == 0 and a + 16 <= self.smem.size, f'shared store at {a}'
                self.smem[a:a + 16] = np.array([v[lane] for v in vs], dtype=U32).view(np.uint8)
        elif op in ('st.shared.b32', 'st.shared.f32'):
            at = self.address(ops[0], args)
            v = self.u(ops[1], args)
            for lane in LANES:
                a = int(at[lane])
                assert a % 4 == 0 and a + 4 <= self.smem.size, f'shared store at {a}'
                self.smem[a:a + 4] = np.array([v[lane]], dtype=U32).view(np.uint8)
        elif op in ('ld.shared.f32', 'ld.shared.b32'):
            at = self.address(ops[1], args)
            out = np.zeros(32, dtype=U32)
            for lane in LANES:
                a = int(at[lane])
                assert a % 4 == 0 and a + 4 <= self.smem.size, f'shared load at {a}'
                out[lane] = self.smem[a:a + 4].view(U32)[0]
            self.set(ops[0], out, mask)
        elif op == 'ld.global.v2.f32':
            at = self.address(ops[1], args)
            dest = [r.strip() for r in ops[0].strip('{}').split(',')]
            for q, name in enumerate(dest):
                out = np.zeros(32, dtype=F32)
                for lane in LANES:
                    if mask is None or mask[lane]:
                        out[lane] = self.memory.load(int(at[lane]) + 4 * q)
                self.set(name, out.view(U32), mask)
        elif op.startswith('ldmatrix.sync.aligned.m8n8.x4'):
            self.ldmatrix(ops, args, '.trans' in op)
        elif op == 'mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32':
            self.mma(ops)
        elif op == 'mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32':
            self.mma_tf32(ops)
        elif op == 'shfl.sync.bfly.b32':
            v = self.u(ops[1], args)
            self.set(ops[0], v[LANES ^ int(ops[2])])
        elif op == 'st.global.v2.f32':
            at = self.address(ops[0], args)
            vs = [self.f(r.strip(), args) for r in ops[1].strip('{}').split(',')]
            for lane in LANES:
                if mask is None or mask[lane]:
                    for q, v in enumerate(vs):
                        self.memory.store(int(at[lane]) + 4 * q, v[lane])
        elif op == 'st.global.f32':
            at = self.address(ops[0], args)
            v = self.f(ops[1], args)
            for lane in LANES:
                if mask is None or mask[lane]:
                    self.memory.store(int(at[lane]), v[lane])
        else:
            raise Exception(f'unemulated instruction: {line}')

    def half(self, address):
        a = int(address)
        assert a % 2 == 0 and a + 2 <= self.smem.size, f'shared load at {a}'
        return int(self.smem[a:a + 2].view(np.uint16)[0])

    def ldmatrix(self, ops, args, trans):
        # Lanes 8m … 8m + 7 give the row addresses of matrix m (8 b16 each); lane l receives, of each matrix, its row
        # l / 4 at elements 2(l % 4), +1 — or with .trans the matrix's column l / 4 at rows 2(l % 4), +1.
        rows = self.address(ops[1], args)
        dest = [r.strip() for r in ops[0].strip('{}').split(',')]
        for m, name in enumerate(dest):
            row_at = [int(rows[8 * m + r]) for r in range(8)]
            out = np.zeros(32, dtype=U32)
            for lane in LANES:
                g, t = lane // 4, lane % 4
                if trans:
                    lo, hi = self.half(row_at[2 * t] + 2 * g), self.half(row_at[2 * t + 1] + 2 * g)
                else:
                    lo, hi = self.half(row_at[g] + 4 * t), self.half(row_at[g] + 4 * t + 2)
                out[lane] = lo | (hi << 16)
            self.set(name, out)

    def mma(self, ops):
        # d = a (16x16, row) · b (16x8, col) + c in mma.m16n8k16's fragment layout (g = lane / 4, t = lane % 4):
        # a0a1 (g, 2t..), a2a3 (g + 8, 2t..), a4a5 (g, 2t + 8..), a6a7 (g + 8, 2t + 8..); b0b1 (k 2t.., n g), b2b3 (k 2t + 8..);
        # c0c1 (g, 2t..), c2c3 (g + 8, 2t..).
        regs = [[r.strip() for r in o.strip('{}').split(',')] for o in ops]
        d, a, b, c = regs
        word = lambda n: self.u(n, None).astype(np.uint64)
        def lohi(w):
            return (((w & 0xFFFF).astype(U32) << 16).view(F32).astype(np.float64),
                    (((w >> 16) & 0xFFFF).astype(U32) << 16).view(F32).astype(np.float64))

        A, B, C = np.zeros((16, 16)), np.zeros((16, 8)), np.zeros((16, 8))
        g, t = LANES // 4, LANES % 4
        for i, (dr, dc) in enumerate([(0, 0), (8, 0), (0, 8), (8, 8)]):
            lo, hi = lohi(word(a[i]))
            A[g + dr, 2 * t + dc], A[g + dr, 2 * t + dc + 1] = lo, hi
        for i, dk in enumerate([0, 8]):
            lo, hi = lohi(word(b[i]))
            B[2 * t + dk, g], B[2 * t + dk + 1, g] = lo, hi
        for i, (dr, dc) in enumerate([(0, 0), (0, 1), (8, 0), (8, 1)]):
            C[g + dr, 2 * t + dc] = self.f(c[i], None)
        D = mma_sum(A, B, C, 'bf16')
        for i, (dr, dc) in enumerate([(0, 0), (0, 1), (8, 0), (8, 1)]):
            self.set(d[i], D[g + dr, 2 * t + dc].view(U32))


    def mma_tf32(self, ops):
        # d = a (16x8, row) · b (8x8, col) + c in mma.m16n8k8 TF32's layout: a0 (g, t), a1 (g + 8, t), a2 (g, t + 4),
        # a3 (g + 8, t + 4); b0 (k t, n g), b1 (k t + 4, n g); c as m16n8k16's. The tensor cores read 19 bits of an
        # operand: the low 13 are dropped here, so an operand the kernel forgot to round errs as it would on a GPU.
        d, a, b, c = [[r.strip() for r in o.strip('{}').split(',')] for o in ops]
        tf32 = lambda n: ((self.u(n, None) & 0xFFFFE000).astype(U32)).view(F32).astype(np.float64)
        A, B, C = np.zeros((16, 8)), np.zeros((8, 8)), np.zeros((16, 8))
        g, t = LANES // 4, LANES % 4
        for i, (dr, dc) in enumerate([(0, 0), (8, 0), (0, 4), (8, 4)]):
            A[g + dr, t + dc] = tf32(a[i])
        for i, dk in enumerate([0, 4]):
            B[t + dk, g] = tf32(b[i])
        for i, (dr, dc) in enumerate([(0, 0), (0, 1), (8, 0), (8, 1)]):
            C[g + dr, 2 * t + dc] = self.f(c[i], None)
        D = mma_sum(A, B, C, 'tf32')
        for i, (dr, dc) in enumerate([(0, 0), (0, 1), (8, 0), (8, 1)]):
            self.set(d[i], D[g + dr, 2 * t + dc].view(U32))


def as_u32(v):
    # A lane's int argument as the asm sees it.
    return np.asarray(v, dtype=np.int64).astype(np.uint64) & 0xFFFFFFFF


def as_f32(v):
    # A float argument, the same in every lane.
    return np.full(32, F32(v)).view(U32)


def launch_terms(scale, probability):
    # What the host passes: scale · log2(e), the least kept draw ceil(p · 2^24), and 1 / (1 − p) (TensorCoreFlashAttention).
    return (F32(scale * F32(1.0 / math.log(2.0))), np.uint64(math.ceil(probability * 16777216.0)),
            F32(F32(1) / (F32(1) - F32(probability))))


def stage(warps, asm, source, start, row_length, row0, tokens, at, rows):
    # TensorCoreFlashAttention.Stage: pair e = thread + 128·j is row e / 32, columns 2·(e % 32) and one more; rows past
    # the tokens are zeros.
    flat = source.reshape(-1)
    for e0 in range(0, rows * (HEAD // 2), THREADS):
        for wi, w in enumerate(warps):
            e = e0 + 32 * wi + LANES
            row, pair = e // (HEAD // 2), e % (HEAD // 2)
            inside = row0 + row < tokens
            i = np.where(inside, start + (row0 + row) * row_length + 2 * pair, 0)
            x = np.where(inside, flat[i], F32(0)).astype(F32)
            y = np.where(inside, flat[np.minimum(i + 1, flat.size - 1)], F32(0)).astype(F32)
            w.run(ASM[asm], [x.view(U32), y.view(U32), as_u32(at + row * ROW + 4 * pair)])


def groups(shape, memory, shared_bytes, init):
    # Every group of a launch in turn (TensorCoreAttentionTile): its head (B·H), its first row (64 a group), its image's
    # qkv and (B, T, C) row offsets and its head's column, and its 4 warps over fresh shared memory, each having run the
    # kernel's `init` statement.
    batch, t, c, heads = shape
    for head in range(batch * heads):
        image = head // heads
        for gx in range((t + QUERY_ROWS - 1) // QUERY_ROWS):
            smem = np.zeros(shared_bytes, dtype=np.uint8)
            warps = [Warp(smem, memory) for _ in range(4)]
            for w in warps:
                w.run(ASM[init], [])
            yield head, gx * QUERY_ROWS, (image * t * 3 * c, image * t * c, (head % heads) * HEAD), warps


def stage_split(warps, source, start, row_length, row0, tokens, at, small, rows, asm='Tf32x3Stage'):
    # TensorCoreFlashAttention.StageSplit: quad e = thread + 128·j is row e / 16, columns 4·(e % 16) … + 3.
    for e0 in range(0, rows * (HEAD // 4), THREADS):
        for wi, w in enumerate(warps):
            e = e0 + 32 * wi + LANES
            row, quad = e // (HEAD // 4), e % (HEAD // 4)
            xs = quads(source, start, row_length, row0 + row, tokens, quad)
            w.run(ASM[asm], xs + [as_u32(at + row * X_ROW + 16 * quad), as_u32(np.full(32, small))])


def permuted_values(key):
    # TensorCoreFlashAttention.PermutedValues: key k of an 8-key tile at word 4·(k % 2) + (k % 8) / 2.
    return 'Tf32x3StageValues', X_V_AT, 8 * (key // 8) + 4 * (key % 2) + (key % 8) // 2


def keys_in_order(key):
    # TensorCoreFlashAttention.KeysInOrder.
    return 'Tf32x3QueriesStageKeys', Y_K, key


def stage_transposed(warps, source, start, row_length, key0, tokens, tile):
    # TensorCoreFlashAttention.StageTransposed<tile>: quad e = thread + 128·j is key 8·j + e % 8, columns 4·((e % 128) / 8) ….
    for e0 in range(0, KEY_ROWS * (HEAD // 4), THREADS):
        for wi, w in enumerate(warps):
            e = e0 + 32 * wi + LANES
            key, quad = 8 * (e // THREADS) + e % 8, (e % THREADS) // 8
            xs = quads(source, start, row_length, key0 + key, tokens, quad)
            asm, at, word = tile(key)
            w.run(ASM[asm], xs + [as_u32(at + 4 * quad * XT_ROW + 4 * word)])


def quads(source, start, row_length, row, tokens, quad):
    # Four consecutive floats of each lane's row from column 4·quad, zeros past the tokens, as the asm's arguments.
    flat = source.reshape(-1)
    inside = row < tokens
    i = np.where(inside, start + row * row_length + 4 * quad, 0)
    return [np.where(inside, flat[np.minimum(i + q, flat.size - 1)], F32(0)).astype(F32).view(U32) for q in range(4)]


def a_fragment(wi, row_bytes):
    return (16 * wi + LANES % 16) * row_bytes + 16 * (LANES // 16)


def b_fragment(row_bytes):
    return ((LANES % 8) + 8 * (LANES // 16)) * row_bytes + 16 * ((LANES // 8) % 2)


class Bf16:
    # TensorCoreFlashAttention.Bf16Tiles.
    name, init, shared, scores, values = 'bf16', 'Init', VALUES_AT + KEY_ROWS * ROW, 'Scores', 'Values'

    def stage_queries(warps, qkv, start, row_length, query0, t):
        stage(warps, 'Stage', qkv, start, row_length, query0, t, 0, QUERY_ROWS)

    def stage_step(warps, qkv, key_start, value_start, row_length, key0, t):
        stage(warps, 'Stage', qkv, key_start, row_length, key0, t, KEYS_AT, KEY_ROWS)
        stage(warps, 'Stage', qkv, value_start, row_length, key0, t, VALUES_AT, KEY_ROWS)

    def load_queries(w, wi):
        w.run(ASM['LoadQueries'], [as_u32(a_fragment(wi, ROW))])

    key_fragment = b_fragment(ROW)
    value_fragment = ((LANES % 8) + 8 * ((LANES // 8) % 2)) * ROW + 16 * (LANES // 16)


class Tf32x3:
    # TensorCoreFlashAttention.Tf32x3Tiles.
    name, init, shared, scores, values = '3xTF32', 'Tf32x3Init', X_V_AT + 2 * HEAD * XT_ROW, 'Tf32x3Scores', 'Tf32x3Values'

    def stage_queries(warps, qkv, start, row_length, query0, t):
        stage_split(warps, qkv, start, row_length, query0, t, 0, X_Q_SMALL, QUERY_ROWS)

    def stage_step(warps, qkv, key_start, value_start, row_length, key0, t):
        stage_split(warps, qkv, key_start, row_length, key0, t, 0, X_K_SMALL, KEY_ROWS)
        stage_transposed(warps, qkv, value_start, row_length, key0, t, permuted_values)

    def load_queries(w, wi):
        w.run(ASM['Tf32x3LoadQueries'], [as_u32(a_fragment(wi, X_ROW))])

    key_fragment = b_fragment(X_ROW)
    value_fragment = b_fragment(XT_ROW)


def kernel(qkv, shape, scale, probability, prefix, output, lse, tiles):
    # TensorCoreFlashAttention.Kernel<tiles>, group by group; addresses as the host passes them.
    batch, t, c, heads = shape
    OUT_AT, LSE_AT = 0x100000, 0x80000000
    memory = Global()
    memory.put(OUT_AT, output)
    memory.put(LSE_AT, lse)
    scale_log2, threshold, keep = launch_terms(scale, probability)
    lane = LANES
    for head, query0, (qkv_rows, output_rows, head_column), warps in groups(shape, memory, tiles.shared, tiles.init):

        tiles.stage_queries(warps, qkv, qkv_rows + head_column, 3 * c, query0, t)
        active = [query0 + 16 * wi < t for wi in range(4)]
        for wi, w in enumerate(warps):
            if active[wi]:
                tiles.load_queries(w, wi)
        column = 2 * (lane % 4)
        for key0 in range(0, t, KEY_ROWS):
            tiles.stage_step(warps, qkv, qkv_rows + c + head_column, qkv_rows + 2 * c + head_column, 3 * c, key0, t)
            for wi, w in enumerate(warps):
                if not active[wi]:
                    continue
                row = query0 + 16 * wi + lane // 4
                row_index = ((head * t) + row) * t + column
                w.run(ASM[tiles.scores], [as_u32(tiles.key_fragment), as_u32(t - key0 - column)])
                w.run(ASM['Softmax'], [as_f32(scale_log2)])
                if probability > 0:
                    w.run(ASM['Dropout'], [np.full(32, prefix, dtype=np.uint64), np.full(32, threshold), as_f32(keep),
                                           (row_index + key0).astype(np.uint64), (row_index + key0 + 8 * t).astype(np.uint64)])
                w.run(ASM[tiles.values], [as_u32(tiles.value_fragment)])
        for wi, w in enumerate(warps):
            if active[wi]:
                row = query0 + 16 * wi + lane // 4
                output_at = (head // heads) * t * c + row * c + head_column + column
                w.run(ASM['Store'], [(OUT_AT + output_at * 4).astype(np.uint64), np.full(32, 8 * c * 4, dtype=np.uint64),
                                     as_u32(t - row), (LSE_AT + (head * t + row) * 4).astype(np.uint64), as_u32(lane % 4 == 0)])


def references(qkv, shape, scale, probability, prefix):
    batch, t, c, heads = shape
    x = qkv.reshape(batch, t, 3, heads, HEAD).astype(np.float64)
    xb = bf16(qkv).reshape(batch, t, 3, heads, HEAD).astype(np.float64)
    out_exact, out_tiled = np.zeros((batch, t, c)), np.zeros((batch, t, c))
    lse_exact, lse_tiled = np.zeros((batch * heads, t)), np.zeros((batch * heads, t))
    keep = float(F32(F32(1) / (F32(1) - F32(probability))))
    threshold = math.ceil(probability * 16777216.0)
    for bh in range(batch * heads):
        b, h = divmod(bh, heads)
        index = (bh * t + np.arange(t))[:, None] * t + np.arange(t)[None, :]
        mask = (uniform_bits(prefix, index) >= threshold) if probability > 0 else np.ones((t, t), dtype=bool)
        # exact
        s = x[b, :, 0, h] @ x[b, :, 1, h].T * scale
        m = s.max(axis=1, keepdims=True)
        e = np.exp(s - m)
        lse_exact[bh] = (m + np.log(e.sum(axis=1, keepdims=True)))[:, 0]
        out_exact[b, :, h * HEAD:(h + 1) * HEAD] = (e / e.sum(axis=1, keepdims=True) * mask * keep) @ x[b, :, 2, h]
        # tiled, as the kernel rounds
        s2 = (xb[b, :, 0, h] @ xb[b, :, 1, h].T) * float(F32(scale * F32(1.0 / math.log(2.0))))
        mx, l, o = np.full(t, -np.inf), np.zeros(t), np.zeros((t, HEAD))
        for key0 in range(0, t, KEY_ROWS):
            blk = s2[:, key0:key0 + KEY_ROWS]
            new = np.maximum(mx, blk.max(axis=1))
            alpha = np.exp2(mx - new)
            p = np.exp2(blk - new[:, None])
            l = l * alpha + p.sum(axis=1)
            pd = bf16((p * mask[:, key0:key0 + KEY_ROWS] * keep).astype(F32)).astype(np.float64)
            o = o * alpha[:, None] + pd @ xb[b, key0:key0 + KEY_ROWS, 2, h]
            mx = new
        out_tiled[b, :, h * HEAD:(h + 1) * HEAD] = o / l[:, None]
        lse_tiled[bh] = (mx + np.log2(l)) * math.log(2.0)
    return out_exact, out_tiled, lse_exact, lse_tiled


def forward_run(shape, probability, seed, tiles):
    # The forward kernel in `tiles`' precision on random inputs from the seed: its output and log-sum-exp, how many of
    # their elements it left unset, and the references.
    batch, t, c, heads = shape
    rng = np.random.default_rng(seed)
    qkv = rng.standard_normal((batch, t, 3 * c)).astype(F32)
    scale = F32(1.0 / math.sqrt(HEAD))
    prefix = int(rng.integers(0, 2 ** 32))
    output = np.full((batch, t, c), np.nan, dtype=F32)
    lse = np.full((batch * heads, t), np.nan, dtype=F32)
    kernel(qkv, shape, scale, probability, prefix, output, lse, tiles)
    unset = int(np.isnan(output).sum() + np.isnan(lse).sum())
    return output, lse, unset, references(qkv, shape, scale, probability, prefix)


def case(name, shape, probability, seed):
    batch, t, c, heads = shape
    output, lse, unset, (out_exact, out_tiled, lse_exact, lse_tiled) = forward_run(shape, probability, seed, Bf16)
    e_tiled = float(np.nanmax(np.abs(output - out_tiled)))
    e_lse = float(np.nanmax(np.abs(lse - lse_tiled)))
    e_exact = float(np.nanmax(np.abs(output - out_exact)))
    e_lse_exact = float(np.nanmax(np.abs(lse - lse_exact)))
    ok = unset == 0 and (HARDWARE is not None or (e_tiled <= 1e-4 and e_lse <= 1e-4)) and e_exact <= 2.5e-2 and e_lse_exact <= 2.5e-2
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {batch}x{t}x{c} h{heads} p={probability}: output vs tiled {e_tiled:.1e}, "
          f"log-sum-exp vs tiled {e_lse:.1e}; vs exact (bf16's own error) {e_exact:.1e} and {e_lse_exact:.1e}; {unset} unset")
    return ok


def tf32x3_case(name, shape, probability, seed):
    # The 3xTF32 forward against exact attention in float64: it is fp32-accurate, so one reference does. Its products
    # miss ≲ 3·2⁻²² ≈ 7e-7 of each term (Tolerance.ThreeTf32Sum), and the softmax is the bf16 kernel's fp32 (ex2.approx);
    # the bound 2e-5 is twenty times the fp32 roundings of a 64-term dot and a 196-key sum of unit-sized terms, where
    # plain TF32 (the small terms dropped) errs by 1e-3 and a wrong index, mask or dropout element by 1e-2 or more.
    batch, t, c, heads = shape
    output, lse, unset, (out_exact, _, lse_exact, _) = forward_run(shape, probability, seed, Tf32x3)
    e_out = float(np.nanmax(np.abs(output - out_exact)))
    e_lse = float(np.nanmax(np.abs(lse - lse_exact)))
    ok = unset == 0 and e_out <= 2e-5 and e_lse <= 2e-5
    print(f"{'ok  ' if ok else 'FAIL'} 3xTF32 forward, {name}: {batch}x{t}x{c} h{heads} p={probability}: output vs exact {e_out:.1e}, "
          f"log-sum-exp vs exact {e_lse:.1e}; {unset} unset")
    return ok


class Bf16Backward:
    # TensorCoreFlashAttention.Bf16BackwardTiles: asm names without a prefix, a step of 32 queries.
    prefix, shared, rows, lse_at, dot_at = '', B_DOT + 128, KEY_ROWS, B_LSE, B_DOT

    def stage_keys_values(warps, qkv, key_start, value_start, row_length, key0, t, active):
        stage(warps, 'BackwardStage', qkv, key_start, row_length, key0, t, 0, QUERY_ROWS)
        stage(warps, 'BackwardStage', qkv, value_start, row_length, key0, t, B_V, QUERY_ROWS)

    def stage_step(warps, qkv, dout, query_start, output_start, row_length, output_row_length, query0, t):
        stage(warps, 'BackwardStage', qkv, query_start, row_length, query0, t, B_Q, KEY_ROWS)
        stage(warps, 'BackwardStage', dout, output_start, output_row_length, query0, t, B_DO, KEY_ROWS)

    def a_fragment(wi):
        return a_fragment(wi, ROW)

    b_fragment = b_fragment(ROW)
    values_fragment = ((LANES % 8) + 8 * ((LANES // 8) % 2)) * ROW + 16 * (LANES // 16)


class Tf32x3Backward:
    # TensorCoreFlashAttention.Tf32x3BackwardTiles: asm names prefixed Tf32x3, a step of 8 queries.
    prefix, shared, rows, lse_at, dot_at = 'Tf32x3', Z_DOT + 32, Z_QUERY_ROWS, Z_LSE, Z_DOT

    def stage_keys_values(warps, qkv, key_start, value_start, row_length, key0, t, active):
        stage_split(warps, qkv, key_start, row_length, key0, t, 0, Z_SMALL, QUERY_ROWS, 'Tf32x3BackwardStage')
        for wi, w in enumerate(warps):
            if active[wi]:
                w.run(ASM['Tf32x3BackwardLoadKeys'], [as_u32(a_fragment(wi, X_ROW))])
        stage_split(warps, qkv, value_start, row_length, key0, t, 0, Z_SMALL, QUERY_ROWS, 'Tf32x3BackwardStage')

    def stage_step(warps, qkv, dout, query_start, output_start, row_length, output_row_length, query0, t):
        stage_split(warps, qkv, query_start, row_length, query0, t, Z_Q, Z_STEP_SMALL, Z_QUERY_ROWS, 'Tf32x3BackwardStage')
        stage_split(warps, dout, output_start, output_row_length, query0, t, Z_DO, Z_STEP_SMALL, Z_QUERY_ROWS, 'Tf32x3BackwardStage')

    def a_fragment(wi):
        return a_fragment(wi, X_ROW)

    b_fragment = (LANES % 8) * X_ROW + 16 * (LANES // 8)
    values_fragment = 2 * (LANES % 4) * X_ROW + 4 * (LANES // 4)


def backward_kernel(qkv, dout, lse, dots, shape, scale, probability, prefix, dqkv, scratch, tiles):
    # TensorCoreFlashAttention.BackwardKernel<tiles>, group by group; addresses as the host passes them.
    batch, t, c, heads = shape
    DQKV_AT, SCRATCH_AT = 0x100000, 0x80000000
    memory = Global()
    memory.put(DQKV_AT, dqkv)
    memory.put(SCRATCH_AT, scratch)
    log2e = F32(1.0 / math.log(2.0))
    scale_log2, threshold, keep = launch_terms(scale, probability)
    lane = LANES
    asm = lambda name: ASM[tiles.prefix + name]
    for head, key0, (qkv_rows, output_rows, head_column), warps in groups(shape, memory, tiles.shared, tiles.prefix + 'BackwardInit'):
        active = [key0 + 16 * wi < t for wi in range(4)]
        tiles.stage_keys_values(warps, qkv, qkv_rows + c + head_column, qkv_rows + 2 * c + head_column, 3 * c, key0, t, active)
        column = 2 * (lane % 4)
        for query0 in range(0, t, tiles.rows):
            tiles.stage_step(warps, qkv, dout, qkv_rows + head_column, output_rows + head_column, 3 * c, c, query0, t)
            # Threads below the step's rows store (thread < rows): the emulator runs a statement in all 32 lanes, so
            # lanes past them repeat the last one's store.
            slot = np.minimum(lane, tiles.rows - 1)
            row = query0 + slot
            inside = row < t
            at = np.where(inside, head * t + row, 0)
            l2 = np.where(inside, (lse.reshape(-1)[at] * log2e).astype(F32), F32(0)).astype(F32)
            d = np.where(inside, dots.reshape(-1)[at], F32(0)).astype(F32)
            warps[0].run(asm('BackwardStatistic'), [l2.view(U32), as_u32(tiles.lse_at + 4 * slot)])
            warps[0].run(asm('BackwardStatistic'), [d.view(U32), as_u32(tiles.dot_at + 4 * slot)])
            for wi, w in enumerate(warps):
                if not active[wi]:
                    continue
                key = key0 + 16 * wi + lane // 4
                w.run(asm('BackwardScores'), [as_u32(tiles.a_fragment(wi)), as_u32(tiles.b_fragment), as_u32(t - query0 - column)])
                w.run(asm('BackwardProbabilities'), [as_f32(scale_log2), as_u32(4 * column)])
                index = ((head * t) + query0 + column) * t + key
                if probability > 0:
                    w.run(asm('BackwardGradientsDropped'), [np.full(32, prefix, dtype=np.uint64), np.full(32, threshold), as_f32(keep),
                                                            index.astype(np.uint64), (index + 8).astype(np.uint64),
                                                            np.full(32, t, dtype=np.uint64), as_u32(4 * column)])
                else:
                    w.run(asm('BackwardGradients'), [as_u32(4 * column)])
                w.run(asm('BackwardStoreScores'), [(SCRATCH_AT + index * 4).astype(np.uint64), np.full(32, 4 * t, dtype=np.uint64),
                                                   as_u32(t - key), as_u32(t - query0 - column), as_f32(scale)])
                w.run(asm('BackwardValues'), [as_u32(tiles.values_fragment)])
        for wi, w in enumerate(warps):
            if active[wi]:
                key = key0 + 16 * wi + lane // 4
                w.run(ASM['BackwardStore'], [(DQKV_AT + (qkv_rows + key * 3 * c + c + head_column + column) * 4).astype(np.uint64),
                                             np.full(32, 8 * 3 * c * 4, dtype=np.uint64), as_u32(t - key),
                                             np.full(32, c * 4, dtype=np.uint64), as_f32(scale)])


def mma_f32(a, b):
    # a · b summed as mma.m16n8k16 sums: fp32 accumulators, a k-step of 16 added at a time.
    acc = np.zeros((a.shape[0], b.shape[1]), dtype=F32)
    for k0 in range(0, a.shape[1], 16):
        acc = (acc.astype(np.float64) + a[:, k0:k0 + 16] @ b[k0:k0 + 16]).astype(F32)
    return acc.astype(np.float64)


def backward_references(qkv, dout, lse, dots, shape, scale, probability, prefix, dqkv0):
    # dqkv0 + (0, dk, dv) and scale · dS: exact (float64 of the unrounded inputs) and tiled (the kernel's roundings).
    batch, t, c, heads = shape
    x = qkv.reshape(batch, t, 3, heads, HEAD).astype(np.float64)
    xb = bf16(qkv).reshape(batch, t, 3, heads, HEAD).astype(np.float64)
    dy = dout.reshape(batch, t, heads, HEAD).astype(np.float64)
    dyb = bf16(dout).reshape(batch, t, heads, HEAD).astype(np.float64)
    keep = float(F32(F32(1) / (F32(1) - F32(probability))))
    threshold = math.ceil(probability * 16777216.0)
    log2e = F32(1.0 / math.log(2.0))
    results = []
    for tiled in (False, True):
        dq = dqkv0.astype(np.float64).reshape(batch, t, 3, heads, HEAD).copy()
        ds_all = np.zeros((batch * heads, t, t))
        for bh in range(batch * heads):
            b, h = divmod(bh, heads)
            index = (bh * t + np.arange(t))[:, None] * t + np.arange(t)[None, :]
            mask = (uniform_bits(prefix, index) >= threshold) if probability > 0 else np.ones((t, t), dtype=bool)
            src, g = (xb, dyb) if tiled else (x, dy)
            q, k, v, o = src[b, :, 0, h], src[b, :, 1, h], src[b, :, 2, h], g[b, :, h]
            if tiled:
                # As the kernel computes them, in fp32: each mma adds a k-step of 16 to fp32 accumulators; the fma, the
                # exponential and the products rounded to fp32 as PTX rounds them. So the probabilities and dS round to
                # the same bf16 values, and only the sums of dv and dk differ (fp32 against float64).
                f = lambda a: np.asarray(a).astype(F32).astype(np.float64)
                s_ = mma_f32(q, k.T)
                lse2 = f(lse[bh] * log2e)
                p = f(np.exp2(f(s_ * float(F32(scale * log2e)) - lse2[:, None]).astype(F32)))
                pd = np.where(mask, f(p * keep), 0.0)
                dp = np.where(mask, f(mma_f32(o, v.T) * keep), 0.0)
                ds = f(f(dp - dots[bh].astype(np.float64)[:, None]) * p)
            else:
                p = np.exp((q @ k.T) * float(scale) - lse[bh].astype(np.float64)[:, None])
                pd = p * mask * keep
                dp = (o @ v.T) * mask * keep
                ds = p * (dp - dots[bh].astype(np.float64)[:, None])
            ds_all[bh] = ds * float(scale)
            r = (lambda a: bf16(a.astype(F32)).astype(np.float64)) if tiled else (lambda a: a)
            dq[b, :, 2, h] += r(pd).T @ o
            dq[b, :, 1, h] += float(scale) * (r(ds).T @ q)
        results += [dq.reshape(dqkv0.shape), ds_all]
    return results


def backward_case(name, shape, probability, seed, tf32x3=False):
    batch, t, c, heads = shape
    rng = np.random.default_rng(seed)
    qkv = rng.standard_normal((batch, t, 3 * c)).astype(F32)
    dout = rng.standard_normal((batch, t, c)).astype(F32)
    scale = F32(1.0 / math.sqrt(HEAD))
    prefix = int(rng.integers(0, 2 ** 32))
    # The forward's log-sum-exps and row dots, exact, as inputs.
    x = qkv.reshape(batch, t, 3, heads, HEAD).astype(np.float64)
    lse = np.zeros((batch * heads, t), dtype=F32)
    dots = np.zeros((batch * heads, t), dtype=F32)
    keep = float(F32(F32(1) / (F32(1) - F32(probability))))
    threshold = math.ceil(probability * 16777216.0)
    for bh in range(batch * heads):
        b, h = divmod(bh, heads)
        sc = x[b, :, 0, h] @ x[b, :, 1, h].T * float(scale)
        m = sc.max(axis=1, keepdims=True)
        lse[bh] = (m + np.log(np.exp(sc - m).sum(axis=1, keepdims=True)))[:, 0]
        index = (bh * t + np.arange(t))[:, None] * t + np.arange(t)[None, :]
        mask = (uniform_bits(prefix, index) >= threshold) if probability > 0 else np.ones((t, t), dtype=bool)
        o = (np.exp(sc - lse[bh][:, None]) * mask * keep) @ x[b, :, 2, h]
        dots[bh] = (o * dout.reshape(batch, t, heads, HEAD)[b, :, h]).sum(axis=1)
    dqkv0 = rng.standard_normal((batch, t, 3 * c)).astype(F32)
    dqkv = dqkv0.copy()
    scratch = np.full((batch * heads, t, t), np.nan, dtype=F32)
    backward_kernel(qkv, dout, lse, dots, shape, scale, probability, prefix, dqkv, scratch, Tf32x3Backward if tf32x3 else Bf16Backward)
    dq_exact, ds_exact, dq_tiled, ds_tiled = backward_references(qkv, dout, lse, dots, shape, scale, probability, prefix, dqkv0)
    unset = int(np.isnan(dqkv).sum() + np.isnan(scratch).sum())
    q_part = float(np.abs(dqkv.reshape(batch, t, 3, c)[:, :, 0] - dqkv0.reshape(batch, t, 3, c)[:, :, 0]).max())
    if tf32x3:
        # fp32-accurate: against exact float64, dqkv within 2e-5 and scale·dS within 1e-5 (twenty times what fp32 sums of
        # ~200 unit-sized terms round to); plain TF32 errs by ~1e-3, a wrong fragment, mask or dropout element by 1e-2 or more.
        e_dq = float(np.nanmax(np.abs(dqkv - dq_exact)))
        e_ds = float(np.nanmax(np.abs(scratch - ds_exact)))
        ok = unset == 0 and q_part == 0 and e_dq <= 2e-5 and e_ds <= 1e-5
        print(f"{'ok  ' if ok else 'FAIL'} 3xTF32 backward, {name}: {batch}x{t}x{c} h{heads} p={probability}: dqkv vs exact {e_dq:.1e}, "
              f"scale·dS vs exact {e_ds:.1e}; q part changed by {q_part:.1e}; {unset} unset")
        return ok
    e_tiled = float(np.nanmax(np.abs(dqkv - dq_tiled)))
    e_ds = float(np.nanmax(np.abs(scratch - ds_tiled)))
    e_exact = float(np.nanmax(np.abs(dqkv - dq_exact)))
    e_ds_exact = float(np.nanmax(np.abs(scratch - ds_exact)))
    q_part = float(np.abs(dqkv.reshape(batch, t, 3, c)[:, :, 0] - dqkv0.reshape(batch, t, 3, c)[:, :, 0]).max())
    ok = unset == 0 and q_part == 0 and (HARDWARE is not None or (e_tiled <= 1e-5 and e_ds <= 1e-5)) and e_exact <= 5e-2 and e_ds_exact <= 5e-2
    print(f"{'ok  ' if ok else 'FAIL'} backward, {name}: {batch}x{t}x{c} h{heads} p={probability}: dqkv vs tiled {e_tiled:.1e}, "
          f"scale·dS vs tiled {e_ds:.1e}; vs exact (bf16's own error) {e_exact:.1e} and {e_ds_exact:.1e}; q part changed by {q_part:.1e}; {unset} unset")
    return ok


class Bf16Queries:
    # QueryGradientsKernel: bf16 pairs of dS (rows of 80 bytes), the keys by Stage, the keys' fragments by .trans.
    init, shared, width = 'QueriesInit', C_K + KEY_ROWS * ROW, 2

    def stage_scores(w, xs, row, index):
        w.run(ASM['QueriesStage'], xs + [as_u32(row * SCORE_ROW + 4 * index)])

    def stage_keys(warps, qkv, start, row_length, key0, t):
        stage(warps, 'QueriesStage', qkv, start, row_length, key0, t, C_K, KEY_ROWS)

    def step(w, wi):
        trans_fragment = ((LANES % 8) + 8 * ((LANES // 8) % 2)) * ROW + 16 * (LANES // 16)
        w.run(ASM['QueriesStep'], [as_u32((16 * wi + LANES % 16) * SCORE_ROW + 16 * (LANES // 16)), as_u32(trans_fragment)])


class Tf32x3Queries:
    # Tf32x3QueryGradientsKernel: dS split in quads (rows of 144 bytes), the keys transposed in key order.
    init, shared, width = 'Tf32x3QueriesInit', 2 * Y_K, 4

    def stage_scores(w, xs, row, index):
        w.run(ASM['Tf32x3QueriesStage'], xs + [as_u32(row * XT_ROW + 16 * index), as_u32(np.full(32, Y_SMALL))])

    def stage_keys(warps, qkv, start, row_length, key0, t):
        stage_transposed(warps, qkv, start, row_length, key0, t, keys_in_order)

    def step(w, wi):
        w.run(ASM['Tf32x3QueriesStep'], [as_u32(a_fragment(wi, XT_ROW)), as_u32(b_fragment(XT_ROW))])


def query_kernel(scores, qkv, shape, dqkv, tiles):
    # TensorCoreFlashAttention's dq kernel in `tiles`' precision: dqkv's q part += scores (B, H, T, T) · k, group by
    # group. Element e = thread + 128·j of a step's dS is query row e / (32 / width), keys width·(e % (32 / width)) on;
    # past the matrix, zeros.
    batch, t, c, heads = shape
    DQKV_AT = 0x100000
    memory = Global()
    memory.put(DQKV_AT, dqkv)
    flat = scores.reshape(-1)
    lane = LANES
    per_row = KEY_ROWS // tiles.width
    for head, query0, (qkv_rows, output_rows, head_column), warps in groups(shape, memory, tiles.shared, tiles.init):
        active = [query0 + 16 * wi < t for wi in range(4)]
        matrix = head * t * t
        for key0 in range(0, t, KEY_ROWS):
            for e0 in range(0, QUERY_ROWS * per_row, THREADS):
                for wi, w in enumerate(warps):
                    e = e0 + 32 * wi + lane
                    row, index = e // per_row, e % per_row
                    query, key = query0 + row, key0 + tiles.width * index
                    at = matrix + query * t + key
                    xs = [np.where((query < t) & (key + q < t), flat[np.minimum(at + q, flat.size - 1)], F32(0)).astype(F32).view(U32)
                          for q in range(tiles.width)]
                    tiles.stage_scores(w, xs, row, index)
            tiles.stage_keys(warps, qkv, qkv_rows + c + head_column, 3 * c, key0, t)
            for wi, w in enumerate(warps):
                if active[wi]:
                    tiles.step(w, wi)
        for wi, w in enumerate(warps):
            if active[wi]:
                row = query0 + 16 * wi + lane // 4
                at = qkv_rows + row * 3 * c + head_column + 2 * (lane % 4)
                w.run(ASM['QueriesStore'], [(DQKV_AT + at * 4).astype(np.uint64), np.full(32, 8 * 3 * c * 4, dtype=np.uint64), as_u32(t - row)])


def query_case(name, shape, seed, tf32x3=False):
    batch, t, c, heads = shape
    rng = np.random.default_rng(seed)
    qkv = rng.standard_normal((batch, t, 3 * c)).astype(F32)
    scores = (0.05 * rng.standard_normal((batch * heads, t, t))).astype(F32)
    dqkv0 = rng.standard_normal((batch, t, 3 * c)).astype(F32)
    dqkv = dqkv0.copy()
    query_kernel(scores, qkv, shape, dqkv, Tf32x3Queries if tf32x3 else Bf16Queries)
    kb = bf16(qkv).reshape(batch, t, 3, heads, HEAD).astype(np.float64)
    k = qkv.reshape(batch, t, 3, heads, HEAD).astype(np.float64)
    tiled = dqkv0.reshape(batch, t, 3, heads, HEAD).copy()
    exact = dqkv0.astype(np.float64).reshape(batch, t, 3, heads, HEAD).copy()
    for bh in range(batch * heads):
        b, h = divmod(bh, heads)
        tiled[b, :, 0, h] = (tiled[b, :, 0, h] + mma_f32(bf16(scores[bh]).astype(np.float64), kb[b, :, 1, h]).astype(F32)).astype(F32)
        exact[b, :, 0, h] += scores[bh].astype(np.float64) @ k[b, :, 1, h]
    e_tiled = float(np.abs(dqkv - tiled.reshape(dqkv.shape)).max())
    e_exact = float(np.abs(dqkv - exact.reshape(dqkv.shape)).max())
    kv_part = float(np.abs(dqkv.reshape(batch, t, 3, c)[:, :, 1:] - dqkv0.reshape(batch, t, 3, c)[:, :, 1:]).max())
    if tf32x3:
        # fp32-accurate: against the exact product, within 1e-5 (Tolerance.ThreeTf32Sum's ≈ √n·7e-7·σ is ~5e-7 here, and
        # the fp32 sums' roundings of values ~1 add ~1e-7 a term); plain TF32 errs by ~1e-3, a wrong index by O(0.1).
        ok = e_exact <= 1e-5 and kv_part == 0
        print(f"{'ok  ' if ok else 'FAIL'} 3xTF32 dq, {name}: {batch}x{t}x{c} h{heads}: vs exact {e_exact:.1e}; k and v parts changed by {kv_part:.1e}")
        return ok
    ok = (HARDWARE is not None or e_tiled <= 1e-5) and e_exact <= 5e-2 and kv_part == 0
    print(f"{'ok  ' if ok else 'FAIL'} dq, {name}: {batch}x{t}x{c} h{heads}: vs tiled {e_tiled:.1e}; vs exact (bf16's own error) "
          f"{e_exact:.1e}; k and v parts changed by {kv_part:.1e}")
    return ok


cases = [("cct-2/3x2's 49 tokens", (2, 49, 128, 2), 0.1, 1),
         ("cct-7/3x1's 196 tokens, one image", (1, 196, 64, 1), 0.1, 2),
         ("no dropout, 70 tokens", (1, 70, 128, 2), 0.0, 3),
         ("a single tile, 7 tokens", (1, 7, 64, 1), 0.3, 4)]
# The last key tile's keys left from a lane's first column are T % 32 − 2t: these reach every mask threshold of both
# parities (and none left, for lanes past the end).
cases += [(f"{t} tokens: {(t - 1) % 32 + 1} keys in the last tile", (1, t, 64, 1), p, 5 + t) for t, p in [(50, 0.1), (63, 0.0), (41, 0.2), (36, 0.1), (44, 0.1), (64, 0.1)]]
backward_cases = [("cct-2/3x2's 49 tokens", (2, 49, 128, 2), 0.1, 21),
                  ("cct-7/3x1's 196 tokens, one image", (1, 196, 64, 1), 0.1, 22),
                  ("no dropout, 70 tokens", (1, 70, 128, 2), 0.0, 23),
                  ("a single tile, 7 tokens", (1, 7, 64, 1), 0.3, 24)]
backward_cases += [(f"{t} tokens: {(t - 1) % 32 + 1} queries in the last tile", (1, t, 64, 1), p, 25 + t) for t, p in [(50, 0.1), (63, 0.0), (41, 0.2), (36, 0.1), (44, 0.1), (64, 0.1)]]
query_cases = [("cct-2/3x2's 49 tokens", (2, 49, 128, 2), 41), ("cct-7/3x1's 196 tokens, one image", (1, 196, 64, 1), 42),
               ("7 tokens", (1, 7, 64, 1), 43), ("64 tokens", (1, 64, 64, 1), 44), ("63 tokens", (1, 63, 64, 1), 45)]
results = [case(*c) for c in cases] + [tf32x3_case(n, shape, p, seed + 60) for n, shape, p, seed in cases]
results += [backward_case(*c) for c in backward_cases] + [query_case(*c) for c in query_cases]
results += [query_case(n, shape, seed + 20, tf32x3=True) for n, shape, seed in query_cases]
# The 3xTF32 backward walks 8 queries a step: these reach every query mask threshold of its one tile (T % 8 − 2t).
tf32x3_backward_cases = backward_cases[:4] + [(f"{t} tokens, the last step's queries {(t - 1) % 8 + 1}", (1, t, 64, 1), p, 65 + t)
                                              for t, p in [(50, 0.1), (63, 0.0), (41, 0.2), (44, 0.1), (64, 0.1), (47, 0.1)]]
results += [backward_case(n, shape, p, seed + 40, tf32x3=True) for n, shape, p, seed in tf32x3_backward_cases]
print(f"{sum(results)} of {len(results)} cases ok (mma sums: {MMA_MODEL})")
sys.exit(0 if all(results) else 1)
