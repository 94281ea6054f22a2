#!/usr/bin/env bash
# Time to accuracy on a CUDA machine in about 8 minutes, from an unpacked bundle and no .NET: the three GPU
# recipes of cct train (Cct.Training's TrainingRecipes), each capped in wall time so the whole run fits:
#   1. speed: its model (cct-4/3x2), SEEDS seeds to 93 % test accuracy (--target-accuracy 0.93), through
#      tools/time-to-accuracy.sh: time to target per seed and as mean ± spread, and the final accuracy;
#   2. best: cct-7/3x1 with its recipe, one seed, stopped at its cap (SIGTERM: checkpoint-last is saved);
#   3. seed: the seed notebook's model with its recipe, one seed, stopped at its cap.
# Then summary.md: a table of every run's test accuracy by epoch and its time to target, read from metrics.jsonl.
#
# usage: tools/gpu-recipes.sh BUNDLE_DIR DATA_DIR OUT_DIR
#   BUNDLE_DIR  an unpacked bundle (tools/publish-bundle.sh): BUNDLE_DIR/cct
#   DATA_DIR    the four FashionMNIST IDX files (.gz or not)
#   OUT_DIR     new or empty; gets speed/ (time-to-accuracy.sh's folder), best/, seed/, *.stdout/.stderr, summary.md
#
# Environment (defaults in brackets; 75·3 + 150 + 120 = 495 s of training caps, plus start-up and evaluation):
#   CCT_RECIPES_ACCELERATOR   [cuda] the accelerator of every run
#   CCT_RECIPES_SPEED_SEEDS   [3] seeds of the speed recipe
#   CCT_RECIPES_SPEED_SECONDS [75] wall-time cap of one speed run (a seed that is not at 93 % by then counts as missed)
#   CCT_RECIPES_BEST_SECONDS  [150] wall-time cap of the best run
#   CCT_RECIPES_SEED_SECONDS  [120] wall-time cap of the seed run
#   CCT_RECIPES_ARGS          [] more `cct train` arguments for every run
#   CCT_RECIPES_MODEL         [] a model for every run instead of each recipe's own (a CPU rehearsal: cct-tiny)
#
# Rehearse on the CPU from a checkout (about 2 minutes on 2 cores), with a tiny model and small data:
#   CCT_RECIPES_ACCELERATOR=cpu CCT_RECIPES_MODEL=cct-tiny CCT_RECIPES_SPEED_SECONDS=40 CCT_RECIPES_BEST_SECONDS=30 \
#   CCT_RECIPES_SEED_SECONDS=30 CCT_RECIPES_ARGS="--train-limit 1024 --test-limit 512 --epochs 2 --warmup-epochs 0 --batch 64" \
#   CCT="dotnet Cct.Cli/bin/Release/net10.0/cct.dll" tools/gpu-recipes.sh . /usr/share/datasets/fashion-mnist /tmp/recipes
# (CCT, when set, is how to run cct instead of BUNDLE_DIR/cct.)
set -uo pipefail

usage="usage: gpu-recipes.sh BUNDLE_DIR DATA_DIR OUT_DIR"
die() { echo "gpu-recipes.sh: $*" >&2; exit 2; }
[[ $# -eq 3 ]] || die "$usage"
bundle=$1 data=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
read -r -a cct <<<"${CCT:-$bundle/cct}"
[[ -n ${CCT:-} || -x $bundle/cct ]] || die "$bundle/cct is missing: BUNDLE_DIR must be an unpacked bundle (tools/publish-bundle.sh)"
[[ -d $data ]] || die "$data is not a folder"
if [[ -e $out && -n "$(ls -A "$out" 2>/dev/null)" ]]; then
    die "$out is not empty"
fi

command -v python3 >/dev/null || die "python3 is needed for the summary (the bundle's GPU machines have it for PyTorch)"
accelerator=${CCT_RECIPES_ACCELERATOR:-cuda}
speed_seeds=${CCT_RECIPES_SPEED_SEEDS:-3}
speed_seconds=${CCT_RECIPES_SPEED_SECONDS:-75}
best_seconds=${CCT_RECIPES_BEST_SECONDS:-150}
seed_seconds=${CCT_RECIPES_SEED_SECONDS:-120}
read -r -a extra <<<"${CCT_RECIPES_ARGS:-}"
model=()
[[ -n ${CCT_RECIPES_MODEL:-} ]] && model=(--model "$CCT_RECIPES_MODEL")
mkdir -p "$out"
started=$(date +%s)

echo "gpu-recipes: speed, $speed_seeds seeds to 93 %, ${speed_seconds} s each" | tee "$out/progress.log"
CCT="${cct[*]}" CCT_RUN_SECONDS=$speed_seconds "$here/time-to-accuracy.sh" "$out/speed" "$speed_seeds" 0.93 \
    --recipe speed "${model[@]}" --data "$data" --accelerator "$accelerator" "${extra[@]}" \
    > "$out/speed.stdout" 2> "$out/speed.stderr"
echo "speed: rc $?" | tee -a "$out/progress.log"

# A capped run: SIGTERM at the cap saves checkpoint-last and the epochs so far stay in metrics.jsonl (exit 143).
capped() { # NAME SECONDS RECIPE
    local name=$1 seconds=$2 recipe=$3 rc=0
    echo "gpu-recipes: $name, recipe $recipe, ${seconds} s" | tee -a "$out/progress.log"
    timeout --signal=TERM --kill-after=30 "$seconds" "${cct[@]}" train --recipe "$recipe" "${model[@]}" --data "$data" \
        --accelerator "$accelerator" --out "$out/$name" "${extra[@]}" > "$out/$name.stdout" 2> "$out/$name.stderr" || rc=$?
    echo "$name: rc $rc" | tee -a "$out/progress.log"
}
capped best "$best_seconds" best
capped seed "$seed_seconds" seed

python3 - "$out" "$(( $(date +%s) - started ))" > "$out/summary.md" <<'PY'
import json, os, sys
out, seconds = sys.argv[1], sys.argv[2]

def epochs(folder):
    path = os.path.join(folder, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]

runs = []
speed = os.path.join(out, "speed")
for name in sorted(os.listdir(speed)) if os.path.isdir(speed) else []:
    if name.startswith("seed-") and os.path.isdir(os.path.join(speed, name)):
        runs.append(("speed " + name, epochs(os.path.join(speed, name))))
for name in ("best", "seed"):
    runs.append((name, epochs(os.path.join(out, name))))

print("# Time to accuracy: the GPU recipes (tools/gpu-recipes.sh, %s s in all)\n" % seconds)
print("| run | epochs | test accuracy by epoch | best | reached 93 % after (training s) |")
print("| --- | ---: | --- | ---: | ---: |")
for name, rows in runs:
    accuracies = [r.get("test_acc") for r in rows if r.get("test_acc") is not None]
    reached = next((r.get("training_seconds") for r in rows if r.get("target_accuracy") is not None), None)
    print("| %s | %d | %s | %s | %s |" % (
        name, len(rows), ", ".join("%.2f" % (100 * a) for a in accuracies) or "none",
        "%.2f %%" % (100 * max(accuracies)) if accuracies else "-",
        "%.1f" % reached if reached is not None else "-"))
summary = os.path.join(speed, "summary.txt")
if os.path.exists(summary):
    print("\nspeed over seeds (tools/time-to-accuracy.sh):\n")
    with open(summary) as f:
        for line in f:
            print("    " + line.rstrip())
print("\nTiming: metrics.jsonl's training_seconds (compilation, evaluation, checkpoints and data loading excluded).")
PY
cat "$out/summary.md"
