#!/usr/bin/env python3
"""How far TensorCoreGemm's products can drift from fp32 on real tensor cores, against Cct's tolerances.

What it models
--------------
C = A·B with A (M, K) and B (K, N) uniform in [-1, 1] (fixed seeds), computed as Cct.Gpu's TensorCoreGemm does:
chained over K in mma steps of 8 (TF32: mma.sync.m16n8k8 .tf32) or 16 (bf16: mma.sync.m16n8k16 .bf16), the
accumulator carried between mma instructions in fp32, starting from zero. Precisions:
  3xTF32  x = big + small, big = tf32(x) (cvt.rna), small = tf32(x - big); per 8-deep step three mma into one
          accumulator, in the kernel's order: small(a)·big(b), then big(a)·small(b), then big(a)·big(b)
  TF32    big(a)·big(b) only
  bf16    operands rounded to nearest even bfloat16
Two models of one mma (d = c + sum of its products):
  nearest   exact products and c summed exactly, one round-to-nearest to fp32 (what tools/tensorcore-emulate.py and
            tools/flash-attention-emulate.py assume)
  hardware  the block-FMA model of Khattak & Mikaitis for the H100 (= H200), or the A100 with --gpu a100:
            the mma's k products are cut into blocks of `fma` products (H100: 8 for TF32, 16 for bf16, so one
            block per mma; A100: 4 and 8, so two blocks chained through the fp32 accumulator); in each block the
            products are exact and unnormalised (significand in [1, 4), exponent ea + eb), c enters the same
            alignment (not added late); every term (products and c) is aligned to the largest exponent E among
            the nonzero terms and truncated toward zero (sign-magnitude, no sticky bit) to multiples of
            2^(E - 23 - neab), neab = 2 extra alignment bits on the H100 (1 on the A100); the aligned terms are
            summed exactly (the carry bits suffice), normalised once at the end of the block, and the result is
            truncated (round toward zero) to fp32.
Long sums may be split over K into chunks (the weight gradient's split K): each chunk accumulated on the tensor
cores from zero, then the chunks added in fp32 in order; the rows marked "chunks" model that.
References: each result against (i) float64 A·B of the unrounded inputs and (ii) an fp32 sequential-FMA sum in k
order (fl32(acc + a·b) with a·b exact, as an FFMA kernel; chunked the same way as the tensor-core row), the
project's check comparing tensor-core results with its fp32 kernels. Reported: the largest
|err| / (atol + rtol·|ref|) over all outputs for Cct.Training/Check/Tolerance.cs's bound on that product
(3xTF32: SumOver(n); TF32: Tf32Sum(n); bf16: Bf16Sum(n); n = K); above 1 the check fails.

Sources
-------
* F. A. Khattak, M. Mikaitis, "Accurate Models of NVIDIA Tensor Cores", arXiv:2512.07004,
  https://arxiv.org/html/2512.07004v2, and its model code, github.com/north-numerical-computing/MATLAB-tensor-core
  (models/H100TC.m: fma = 16, neab = 2, frmode = 'rz', tf32 fma = 8, global_alignment = 1,
  late_partial_sum = 0, denorm_prd = 1, stkbitenabled = 0; models/H200TC.m calls H100TC; models/A100TC.m:
  fma = 8, neab = 1, 'rz', tf32 fma = 4; models/tools/Generic_BFMA_TC.m and GEMM.m: the block and the chaining).
* F. A. Khattak, M. Mikaitis, "Generalized Methodology for Determining Numerical Features of Hardware
  Floating-Point Matrix Multipliers: Part I", HPEC 2025 (arXiv:2510.15884); github.com/faiziktk/IEEE_HPEC2025_block_FMA_tests.
* M. Fasi, N. J. Higham, M. Mikaitis, S. Pranesh, "Numerical behavior of NVIDIA tensor cores", PeerJ Comput. Sci.
  7:e330 (2021), https://peerj.com/articles/cs-330.
* PTX ISA, mma: "accumulation order, rounding ... unspecified".
Left open, and read here pessimistically or as stated: the extra carry bits (3 measured on the A100 for bf16, 2 for
TF32) are taken as never overflowing (they do not for 9 or 17 terms of this size); the fp32 chunk additions are
round-to-nearest FADDs. --tf32-fma 4 runs the H100 with A100-sized TF32 blocks (two truncations per mma), the
pessimistic reading should the 8-term TF32 block not hold (the stored H100 TF32 validation vectors have 4 terms).

--validate DIR checks the hardware block, bit for bit, against the GPU outputs stored in the model code's
model_validation folder (DIR/<GPU>/<tf32|bf16>/{a,b,c,d}_*.txt, 5,000 vectors each) for the H100, H200 and A100.

--check (CI) reads TensorCoreGemm.MaxChain from Cct.Gpu/Gemm/TensorCoreGemm.cs and fails unless, on both GPU models,
3xTF32 stays below its bound against fp32 FMA for one accumulator of MaxChain terms and for 25,088 rows split into
chunks of MaxChain (the weight gradient's split), and one accumulator of twice MaxChain terms fails it (so the check can
tell a cap from none); about 10 s.

usage: python3 tools/tensorcore-accuracy.py [--gpu h100|a100] [--tf32-fma N] [--validate DIR | --check]
       (needs numpy: Debian's python3-numpy; about half a minute)
"""
import argparse
import os
import sys
import time

import numpy as np

M, N = 64, 64                       # 4,096 outputs
# One accumulator over K terms: 768 is TensorCoreGemm.MaxChain (cct-7/3x1's qkv dinput), 1,024 and up are what the cap
# keeps off the tensor cores in 3xTF32.
KS = [32, 256, 512, 768, 1024, 2288, 3136, 25088]
# (K, chunk): a weight gradient's split K. 3,136 rows in 12 chunks of 272 (the check's 96x32 case); 25,088 (cct-7/3x1's
# qkv dweight at batch 128) in 11 of 2,288, the split before MaxChain, and in 33 of 768, the split since.
CHUNKED = [(3136, 272), (25088, 2288), (25088, 768)]

GPUS = {  # (fma size for tf32, fma size for bf16, extra alignment bits)
    'h100': dict(tf32=8, bf16=16, neab=2),
    'a100': dict(tf32=4, bf16=8, neab=1),
}


# ---------------------------------------------------------------- operand roundings (bit exact, as the kernels)
def tf32(x):
    """cvt.rna.tf32.f32: round the fp32 significand to 10 bits, ties away from zero (on the magnitude bits)."""
    b = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = ((b + 0x1000) & 0xFFFFE000).astype(np.uint32)
    return b.view(np.float32)


def bf16(x):
    """cvt.rn.bf16.f32: round to nearest even bfloat16."""
    b = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = ((b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)
    return b.view(np.float32)


def to_f32_rz(x):
    """float64 -> fp32, rounding toward zero."""
    f = x.astype(np.float32)
    over = np.abs(f.astype(np.float64)) > np.abs(x)
    return np.where(over, np.nextafter(f, np.float32(0)), f)


# ---------------------------------------------------------------- one mma
NO_EXP = -100000


def block_hardware(p, ea_eb, c, neab):
    """One block FMA: p (O, L) exact products (float64), ea_eb their exponents (floor(log2|a|) + floor(log2|b|)),
    c (O,) fp32 accumulator as float64. Returns fp32."""
    _, ec = np.frexp(c)
    ce = np.where(c != 0, ec - 1, NO_EXP)
    pe = np.where(p != 0, ea_eb, NO_EXP)
    E = np.maximum(pe.max(axis=1), ce)
    E = np.maximum(E, -133)                       # the model's min_exp_limit (never reached here)
    s = (23 + neab - E).astype(np.int32)          # the aligned grid is 2^(E - 23 - neab)
    # sign-magnitude truncation of every term onto the grid; exact in float64 (integers below 2^32)
    tp = np.trunc(np.ldexp(p, s[:, None])).sum(axis=1)
    tc = np.trunc(np.ldexp(c, s))
    return to_f32_rz(np.ldexp(tp + tc, -s))


def hardware_mma(A, B, C, gpu, fmt):
    """One mma as the emulators run it: d (16, 8) = A (16, K) · B (K, 8) + C (16, 8), float64 operands as the tensor
    core sees them, summed by block_hardware in blocks of the GPU's `fmt` ('tf32' or 'bf16') size; fp32."""
    p = (A[:, None, :] * B.T[None, :, :]).reshape(-1, A.shape[1])
    e = (exponent(A)[:, None, :] + exponent(B).T[None, :, :]).reshape(-1, A.shape[1])
    d = C.ravel().astype(np.float32)
    for j in range(0, A.shape[1], gpu[fmt]):
        d = block_hardware(p[:, j:j + gpu[fmt]], e[:, j:j + gpu[fmt]], d.astype(np.float64), gpu['neab'])
    return d.reshape(C.shape)


def load_model(name):
    """(this module, GPUS[name]) for the emulators' CCT_EMULATE_MMA, or None for 'nearest'."""
    if name == 'nearest':
        return None
    if name not in GPUS:
        raise SystemExit(f"CCT_EMULATE_MMA must be nearest or one of {', '.join(sorted(GPUS))}, not '{name}'")
    return sys.modules[__name__], GPUS[name]


def exponent(x):
    """floor(log2|x|) for nonzero normal x (the inputs here are never subnormal), NO_EXP for 0."""
    _, e = np.frexp(x)
    return np.where(x != 0, e - 1, NO_EXP)


class Operands:
    """Per-k operand arrays (float64 values exactly as the tensor core sees them) and their exponents."""

    def __init__(self, a, b):
        self.a = a.astype(np.float64)             # (M, K)
        self.b = b.astype(np.float64)             # (K, N)
        self.ea = exponent(self.a)
        self.eb = exponent(self.b)

    def products(self, k0, k1):
        # (M*N, L): products for outputs (i, j), k in [k0, k1)
        a, b = self.a[:, k0:k1], self.b[k0:k1, :]
        p = (a[:, None, :] * b.T[None, :, :]).reshape(M * N, k1 - k0)
        e = (self.ea[:, k0:k1][:, None, :] + self.eb[k0:k1, :].T[None, :, :]).reshape(M * N, k1 - k0)
        return p, e


def mma(ops, k0, k1, c, model, fma, neab):
    """d = c + sum_{k0<=k<k1} a_k b_k, one mma instruction of depth k1 - k0."""
    p, e = ops.products(k0, k1)
    if model == 'nearest':
        return (p.sum(axis=1) + c).astype(np.float32)   # float64 sum of <= 17 terms, then round to nearest fp32
    d = c.astype(np.float32)
    for j in range(0, k1 - k0, fma):                      # blocks chained through the fp32 accumulator
        d = block_hardware(p[:, j:j + fma], e[:, j:j + fma], d.astype(np.float64), neab)
    return d


# ---------------------------------------------------------------- a whole product over K
def chunk_bounds(K, chunk):
    step = chunk or K
    return [(s, min(s + step, K)) for s in range(0, K, step)]


def tensor_core(precision, model, a, b, checkpoints, chunk, gpu, tf32_fma):
    """Accumulator per K in checkpoints (unchunked) or the chunked result for K = checkpoints[-1]."""
    if precision == 'bf16':
        steps = [(Operands(bf16(a), bf16(b)), 16, gpu['bf16'])]
        depth = 16
    else:
        ahi, bhi = tf32(a), tf32(b)
        alo, blo = tf32(a - ahi), tf32(b - bhi)
        hh = Operands(ahi, bhi)
        steps = [(Operands(alo, bhi), 8, tf32_fma), (Operands(ahi, blo), 8, tf32_fma), (hh, 8, tf32_fma)] \
            if precision == '3xTF32' else [(hh, 8, tf32_fma)]
        depth = 8
    K = checkpoints[-1]
    out = {}
    total = None
    for c0, c1 in chunk_bounds(K, chunk):
        acc = np.zeros(M * N, dtype=np.float32)
        for k in range(c0, c1, depth):
            for ops, _, fma in steps:
                acc = mma(ops, k, min(k + depth, c1), acc.astype(np.float64), model, fma, gpu['neab'])
            if not chunk and k + depth in checkpoints:
                out[k + depth] = acc.copy()
        total = acc if total is None else (total + acc).astype(np.float32)   # fp32 adds of the chunks, in order
    if chunk:
        out[K] = total
    return out


def fp32_fma(a, b, checkpoints, chunk):
    """fp32 sequential FMA in k order (a·b exact in float64; one rounding per step to fp32)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    K = checkpoints[-1]
    out, total = {}, None
    for c0, c1 in chunk_bounds(K, chunk):
        acc = np.zeros((M, N), dtype=np.float32)
        for k in range(c0, c1):
            acc = (acc.astype(np.float64) + np.outer(a64[:, k], b64[k, :])).astype(np.float32)
            if not chunk and k + 1 in checkpoints:
                out[k + 1] = acc.ravel().copy()
        total = acc if total is None else (total + acc).astype(np.float32)
    if chunk:
        out[K] = total.ravel()
    return out


# ---------------------------------------------------------------- Cct.Training/Check/Tolerance.cs
def tolerance(precision, n):
    if precision == 'TF32':
        return 1e-3 * np.sqrt(n), 2e-3                  # Tf32Sum
    if precision == 'bf16':
        return 8e-3 * np.sqrt(n), 1.6e-2                # Bf16Sum
    return (1e-4, 1e-4) if n <= 3136 else (1e-4 * n / 3136, 1e-4)   # SumOver (fp32 and ThreeTf32Sum)


def ratio(got, ref, atol, rtol):
    ref = ref.astype(np.float64)
    return float(np.max(np.abs(got.astype(np.float64) - ref) / (atol + rtol * np.abs(ref))))


# ---------------------------------------------------------------- --validate
def read_hex(path, k):
    with open(path) as f:
        words = f.read().split()
    return np.array([int(w, 16) for w in words], dtype=np.uint32).view(np.float32).reshape(-1, k)


def read_bits(path):
    with open(path) as f:
        words = f.read().split()
    return np.array([int(w, 2) for w in words], dtype=np.uint32).view(np.float32)


def validate(root):
    ok = True
    for name, gpu_key in [('H100', 'h100'), ('H200', 'h100'), ('A100', 'a100')]:
        gpu = GPUS[gpu_key]
        for fmt in ('tf32', 'bf16'):
            d = os.path.join(root, name, fmt)
            if not os.path.isdir(d):
                continue
            c = read_bits(os.path.join(d, f'c_{name}_fp32.txt')).astype(np.float64)
            want = read_bits(os.path.join(d, f'd_{name}_fp32.txt'))
            with open(os.path.join(d, f'a_{name}_{fmt}.txt')) as f:
                k = len(f.readline().split())
            a = read_hex(os.path.join(d, f'a_{name}_{fmt}.txt'), k).astype(np.float64)
            b = read_hex(os.path.join(d, f'b_{name}_{fmt}.txt'), k).astype(np.float64)
            if fmt == 'tf32':   # registers holding tf32 keep their low 13 bits zero; make sure
                a, b = tf32(a.astype(np.float32)).astype(np.float64), tf32(b.astype(np.float32)).astype(np.float64)
            fma = gpu[fmt]
            p, e = a * b, exponent(a) + exponent(b)
            got = c.astype(np.float32)
            for j in range(0, k, fma):
                got = block_hardware(p[:, j:j + fma], e[:, j:j + fma], got.astype(np.float64), gpu['neab'])
            nearest = (p.sum(axis=1) + c).astype(np.float32)
            same = np.sum(got.view(np.uint32) == want.view(np.uint32))
            same_n = np.sum(nearest.view(np.uint32) == want.view(np.uint32))
            print(f'{name} {fmt}: {k} terms + c, {len(want)} vectors: hardware model matches {same} bit for bit, '
                  f'the nearest model {same_n}')
            ok &= bool(same == len(want))
    return ok


# ---------------------------------------------------------------- --check
def max_chain(source):
    import re
    with open(source) as f:
        found = re.search(r"internal const int MaxChain = (\d+);", f.read())
    if not found:
        raise SystemExit(f"tensorcore-accuracy.py: no 'internal const int MaxChain = N;' in {source}")
    return int(found.group(1))


def check():
    cap = max_chain(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Cct.Gpu", "Gemm", "TensorCoreGemm.cs"))
    rows = 25088
    rng = np.random.default_rng(2024)
    a = rng.uniform(-1, 1, (M, rows)).astype(np.float32)
    b = rng.uniform(-1, 1, (rows, N)).astype(np.float32)
    cases = [("one accumulator of MaxChain terms", cap, None, True), (f"{rows} rows in chunks of MaxChain", rows, cap, True),
             ("one accumulator of 2 x MaxChain terms", 2 * cap, None, False)]
    ok = True
    print(f"TensorCoreGemm.MaxChain = {cap}; 3xTF32 against fp32 FMA, share of SumOver's bound (must be below 1, or above for the last):")
    for name, gpu in sorted(GPUS.items()):
        for what, K, chunk, passes in cases:
            atol, rtol = tolerance('3xTF32', K)
            got = tensor_core('3xTF32', 'hardware', a[:, :K], b[:K], [K], chunk, gpu, gpu['tf32'])[K]
            ref = fp32_fma(a[:, :K], b[:K], [K], chunk)[K]
            share = ratio(got, ref, atol, rtol)
            good = share < 1 if passes else share >= 1
            ok &= good
            print(f"  {name}: {what} (K = {K}): {share:.2f} {'ok' if good else 'FAILED'}")
    return ok


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--gpu', choices=sorted(GPUS), default='h100')
    ap.add_argument('--tf32-fma', type=int, default=None, help='TF32 block size (default: the GPU\'s)')
    ap.add_argument('--validate', metavar='DIR', help='MATLAB-tensor-core model_validation folder')
    ap.add_argument('--check', action='store_true', help='fail unless TensorCoreGemm.MaxChain keeps 3xTF32 within its bound (CI)')
    args = ap.parse_args()
    if args.validate:
        sys.exit(0 if validate(args.validate) else 1)
    if args.check:
        sys.exit(0 if check() else 1)
    gpu = GPUS[args.gpu]
    tf32_fma = args.tf32_fma or gpu['tf32']
    start = time.time()

    rng = np.random.default_rng(2024)
    kmax = max(KS)
    a = rng.uniform(-1, 1, (M, kmax)).astype(np.float32)
    b = rng.uniform(-1, 1, (kmax, N)).astype(np.float32)
    exact = {K: (a[:, :K].astype(np.float64) @ b[:K].astype(np.float64)).ravel() for K in KS}

    runs = [(K, None) for K in KS] + list(CHUNKED)
    fp32 = fp32_fma(a, b, KS, None)
    for K, chunk in CHUNKED:
        fp32.update({(K, chunk): fp32_fma(a[:, :K], b[:K], [K], chunk)[K]})
    print(f'# Tensor-core accumulation models vs Cct tolerances ({args.gpu.upper()} hardware model: fma TF32 '
          f'{tf32_fma}, bf16 {gpu["bf16"]}, {gpu["neab"]} extra alignment bits, truncation; M = N = {M}, '
          f'A, B uniform in [-1, 1])\n')
    print('ratio = max |err| / (atol + rtol·|ref|), above 1 fails; drift = mean((hw - f64)·sign(f64)) / mean |f64|\n')
    print('| precision | K | chunks | atol, rtol | nearest vs f64 | hardware vs f64 | nearest vs fp32 '
          '| hardware vs fp32 | hw max abs err vs f64 | hw drift |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for precision in ('3xTF32', 'TF32', 'bf16'):
        res = {}
        for model in ('nearest', 'hardware'):
            res[model] = tensor_core(precision, model, a, b, KS, None, gpu, tf32_fma)
            for K, chunk in CHUNKED:
                res[model][(K, chunk)] = tensor_core(precision, model, a[:, :K], b[:K], [K], chunk, gpu,
                                                     tf32_fma)[K]
        for K, chunk in runs:
            key = K if chunk is None else (K, chunk)
            atol, rtol = tolerance(precision, K)
            f64, f32 = exact[K], fp32[key]
            hw, nr = res['hardware'][key], res['nearest'][key]
            nchunks = 1 if chunk is None else len(chunk_bounds(K, chunk))
            drift = float(np.mean((hw - f64) * np.sign(f64)) / np.mean(np.abs(f64)))
            cells = [precision, str(K), f'{nchunks} of {chunk}' if chunk else '1', f'{atol:.3g}, {rtol:.3g}',
                     f'{ratio(nr, f64, atol, rtol):.3f}', f'{ratio(hw, f64, atol, rtol):.3f}',
                     f'{ratio(nr, f32, atol, rtol):.3f}', f'{ratio(hw, f32, atol, rtol):.3f}',
                     f'{np.max(np.abs(hw - f64)):.2e}', f'{drift:+.1e}']
            print('| ' + ' | '.join(cells) + ' |')
    print(f'\n({time.time() - start:.0f} s)')


if __name__ == '__main__':
    main()
