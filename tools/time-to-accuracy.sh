#!/usr/bin/env bash
# Time to accuracy over seeds: runs `cct train` once per seed with the same recipe and a --target-accuracy, then
# reports per seed and as mean ± sample standard deviation (and min–max) the training time to the target (as
# metrics.jsonl's training_seconds records it: compilation, evaluation, checkpoints and data loading excluded),
# the final test accuracy and the epochs run. A seed that never reaches the target counts in the accuracy figures
# and is listed as missed in the time ones.
#
# usage: tools/time-to-accuracy.sh OUT_DIR SEEDS TARGET [cct train arguments...]
#   OUT_DIR  new or empty; gets seed-N/ (the run folder), seed-N.stdout/.stderr, runs.tsv and summary.txt
#   SEEDS    how many seeds: 0 .. SEEDS-1
#   TARGET   the target test accuracy, e.g. 0.93
#   the rest goes to every `cct train`, e.g. --recipe speed --data DIR --accelerator cuda
#
# Environment:
#   CCT     [dotnet Cct.Cli/bin/Release/net10.0/cct.dll] how to run cct (a bundle: BUNDLE_DIR/cct)
#   CCT_RUN_SECONDS [0] wall-time cap per run (0: none); at the cap SIGTERM saves checkpoint-last and the run counts as missed
#
# Rehearse on the CPU with a tiny model and small data, e.g.:
#   tools/time-to-accuracy.sh /tmp/tta 3 0.3 --model cct-tiny --epochs 2 --train-limit 512 --test-limit 256 --accelerator cpu
set -euo pipefail
if [[ $# -lt 3 ]]; then
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi

out=$1 seeds=$2 target=$3
shift 3
cct=${CCT:-dotnet Cct.Cli/bin/Release/net10.0/cct.dll}
cap=${CCT_RUN_SECONDS:-0}
if [[ -e "$out" && -n "$(ls -A "$out" 2>/dev/null)" ]]; then
    echo "time-to-accuracy: $out is not empty" >&2
    exit 2
fi

mkdir -p "$out"
printf 'seed\treached\ttraining_seconds\tfinal_test_acc\tepochs\trc\n' > "$out/runs.tsv"
for ((seed = 0; seed < seeds; seed++)); do
    run="$out/seed-$seed"
    echo "time-to-accuracy: seed $seed: $cct train $* --seed $seed --target-accuracy $target --out $run" >&2
    rc=0
    if [[ "$cap" -gt 0 ]]; then
        timeout --signal=TERM --kill-after=30 "$cap" $cct train "$@" --seed "$seed" --target-accuracy "$target" --out "$run" \
            > "$out/seed-$seed.stdout" 2> "$out/seed-$seed.stderr" || rc=$?
    else
        $cct train "$@" --seed "$seed" --target-accuracy "$target" --out "$run" > "$out/seed-$seed.stdout" 2> "$out/seed-$seed.stderr" || rc=$?
    fi

    metrics="$run/metrics.jsonl"
    if [[ ! -s "$metrics" ]]; then
        printf '%s\tno\t\t\t0\t%s\n' "$seed" "$rc" >> "$out/runs.tsv"
        continue
    fi

    # The last line is the last epoch; a run that reached the target stops there and records target_accuracy.
    # Python's json, not jq: a GPU machine has the Python that PyTorch needs, not always jq.
    python3 - "$metrics" "$seed" "$rc" >> "$out/runs.tsv" <<'PY'
import json, sys
path, seed, rc = sys.argv[1:]
with open(path) as f:
    epochs = [json.loads(line) for line in f if line.strip()]
last = epochs[-1]
def text(value):
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)
reached = "yes" if last.get("target_accuracy") is not None else "no"
print("\t".join([seed, reached, text(last.get("training_seconds")), text(last.get("test_acc")), str(len(epochs)), rc]))
PY
done

# Mean, sample standard deviation and range of the reached runs' times and of every run's final accuracy.
awk -F'\t' -v target="$target" -v seeds="$seeds" '
    NR == 1 { next }
    $4 != "" { n++; acc += $4; acc2 += $4 * $4; if (n == 1 || $4 < amin) amin = $4; if (n == 1 || $4 > amax) amax = $4; ep += $5 }
    $2 == "yes" { r++; t += $3; t2 += $3 * $3; if (r == 1 || $3 < tmin) tmin = $3; if (r == 1 || $3 > tmax) tmax = $3 }
    function sd(s, s2, k) { return k > 1 ? sqrt((s2 - s * s / k) / (k - 1)) : 0 }
    END {
        printf "seeds %d, target %.2f%%\n", seeds, target * 100
        if (r > 0) printf "time to target: %.2f s ± %.2f (min %.2f, max %.2f) over %d of %d seeds that reached it\n", t / r, sd(t, t2, r), tmin, tmax, r, seeds
        else printf "time to target: no seed reached it\n"
        if (n > 0) printf "final test accuracy: %.2f%% ± %.2f (min %.2f, max %.2f); mean epochs %.1f\n", 100 * acc / n, 100 * sd(acc, acc2, n), 100 * amin, 100 * amax, ep / n
        printf "timing: training_seconds of metrics.jsonl (compilation, evaluation, checkpoints and data loading excluded)\n"
    }' "$out/runs.tsv" | tee "$out/summary.txt"
