#!/usr/bin/env bash
# Single-instruction mutations of the generated 3xTF32 attention PTX (Cct.Gpu/Layers/TensorCoreFlashAttentionAsm.cs):
# each one is applied to a copy, and tools/flash-attention-emulate.py runs the copy; every mutation must fail some of the
# 25 3xTF32 cases. usage (from the repository root): bash benchmarks/2026-12-07-cpu-2core/tensor-core-attention-3xtf32/mutations.sh
set -euo pipefail
out=$(mktemp -d)
mutate() {
  local name=$1 string=$2 old=$3 new=$4
  python3 - "$string" "$old" "$new" > "$out/$name.cs" <<'PY'
import sys
s = open('Cct.Gpu/Layers/TensorCoreFlashAttentionAsm.cs').read()
name, old, new = sys.argv[1:]
i = s.index(f'public const string {name} =')
j = s.index(';\n', i)
body = s[i:j]
assert old in body, f'{old} not in {name}'
print(s[:i] + body.replace(old, new, 1) + s[j:], end='')
PY
  local fails
  fails=$(/usr/bin/python3 tools/flash-attention-emulate.py "$out/$name.cs" 2>&1 | grep -c "FAIL.*3xTF32" || true)
  echo "$name ($string: '$old' -> '$new'): $fails of 25 3xTF32 cases fail"
}
mutate small-scores Tf32x3Scores '{fa_q32, fa_q33, fa_q34, fa_q35}, {b0, b1}' '{fa_q0, fa_q1, fa_q2, fa_q3}, {b0, b1}'
mutate small-values Tf32x3Values '{p0, p1, p2, p3}, {c0, c1}' '{s0, s1, s2, s3}, {c0, c1}'
mutate a-order Tf32x3Values 'cvt.rna.tf32.f32 p1, fa_s2;' 'cvt.rna.tf32.f32 p1, fa_s1;'
mutate value-row Tf32x3StageValues 'st.shared.b32 [a+144], b1;' 'st.shared.b32 [a+148], b1;'
mutate value-small-offset Tf32x3Values '[a+9216]' '[a+9220]'
mutate stage-small Tf32x3Stage 'add.u32 a, a, %5;' 'add.u32 a, a, %4;'
mutate key-pair Tf32x3Scores '[a+4352]' '[a+4356]'
mutate backward-small-keys Tf32x3BackwardScores '{fz_k32, fz_k33, fz_k34, fz_k35}' '{fz_k0, fz_k1, fz_k2, fz_k3}'
mutate backward-a-order Tf32x3BackwardValues 'cvt.rna.tf32.f32 p1, fb_s2;' 'cvt.rna.tf32.f32 p1, fb_s1;'
mutate backward-b-row Tf32x3BackwardValues 'ld.shared.b32 b1, [a+39440];' 'ld.shared.b32 b1, [a+39444];'
mutate backward-mask Tf32x3BackwardScores 'setp.gt.s32 p, %2, 1;' 'setp.gt.s32 p, %2, 2;'
mutate backward-small-dk Tf32x3BackwardValues '{fb_dk0, fb_dk1, fb_dk2, fb_dk3}, {s4, s5, s6, s7}' '{fb_dk0, fb_dk1, fb_dk2, fb_dk3}, {p4, p5, p6, p7}'
mutate backward-small-v Tf32x3BackwardScores '[x+17408]' '[x+17412]'
mutate backward-log-sum-exp Tf32x3BackwardProbabilities 'add.u32 a, a, 43520;' 'add.u32 a, a, 43524;'
mutate backward-dropout-index Tf32x3BackwardGradientsDropped 'mul.lo.s64 o, %5, 1;' 'mul.lo.s64 o, %5, 2;'
mutate dq-small Tf32x3QueriesStep '{s0, s1, s2, s3}, {b0, b1}' '{a0, a1, a2, a3}, {b0, b1}'
mutate dq-key-small Tf32x3QueriesStageKeys '[a+9360], s1' '[a+9364], s1'
mutate dq-k-step Tf32x3QueriesStep '[x+32]' '[x+36]'
rm -rf "$out"
