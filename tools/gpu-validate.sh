#!/usr/bin/env bash
# Validates an unpacked Cct bundle on a CUDA machine in about 9 minutes, most telling first: devices, `cct check` in
# fp32 and in a tensor-core precision, the bench pair against PyTorch where BENCHMARKS.md sets its speed targets
# (cct-7/3x1 at batch 128, cct-2/3x2 at 512; Cct in fp32, tf32x3 and bf16, PyTorch in fp32, TF32 and bf16), the
# target cases replayed as CUDA graphs, the GPU tests, the kernels timed in both precisions, and short training
# runs of cct-2/3x2 on full FashionMNIST in each precision from one seed, with test accuracy per epoch (does a
# tensor-core precision train as well as fp32?), then, on what time is left, PyTorch's torch.compile at one case.
# Needs no .NET; the bench pair needs a Python with torch.
#
# usage: tools/gpu-validate.sh BUNDLE_DIR DATA_DIR OUT_DIR
#   BUNDLE_DIR  an unpacked bundle (tools/publish-bundle.sh): BUNDLE_DIR/cct, BUNDLE_DIR/tests/Cct.Tests, ...
#   DATA_DIR    the four FashionMNIST IDX files (.gz or not)
#   OUT_DIR     new or empty; gets NN-step.{cmd,stdout,stderr,rc} per step, the step's own files, summary.txt
#
# The whole run keeps to CCT_VALIDATE_BUDGET seconds: a step cut at its limit has kill_grace (20 s) to save and flush,
# and its limit leaves room for that. With CCT_VALIDATE_ARCHIVE=FILE it ends by packing OUT_DIR, checkpoints left
# out, into FILE (.tar.gz, outside OUT_DIR), one file to copy back from a remote machine.
#
# Every step runs under its own time limit and a failure never stops the steps after it; the exit code is
# 0 when no step failed, 1 otherwise, 2 for bad arguments.
#
# Environment (defaults in brackets; the CPU values in docs/gpu-bundle.md rehearse the script without a GPU):
#   CCT_VALIDATE_ACCELERATOR   [cuda] accelerator for every step: cuda, opencl, cpu or auto
#   CCT_VALIDATE_BUDGET        [540] seconds for the whole script; later steps shrink to fit it: every step before
#                              the bench holds back 120 s for it, and kernels, kernels-tc and graphs hold back 25 s
#                              a training run
#   CCT_VALIDATE_PRECISION     [tf32x3 on cuda, else none] a tensor-core precision (tf32x3, tf32 or bf16) for the
#                              Linear products: `cct check` and the kernels step run once more in it (check-tc,
#                              kernels-tc); none leaves them out. The bench's Cct runs are CCT_BENCH_CCT_PRECISION's:
#                              fp32, tf32x3 and bf16 on cuda (against PyTorch's fp32, tf32 and bf16), fp32 elsewhere
#   CCT_VALIDATE_MODEL         [cct-2/3x2] model trained, once per training precision, all from seed 0
#   CCT_VALIDATE_TRAIN_PRECISIONS [fp32 tf32x3 bf16 on cuda, else fp32] the training runs' --precision, one step
#                              each (train-fp32, ...); the eval step reports the first one's checkpoint-best
#   CCT_VALIDATE_EPOCHS        [5] epochs asked for in each run; its time budget may stop it earlier
#   CCT_VALIDATE_TRAIN_SECONDS [30] each training run's time budget; then SIGTERM saves checkpoint-last
#   CCT_VALIDATE_TRAIN_ARGS    [] more `cct train` arguments, e.g. "--train-limit 512 --val-split 0"
#   CCT_VALIDATE_TEST_FILTER   [TestCategory=Gpu&FullyQualifiedName!~CudaCheckPasses] test filter (Microsoft.Testing.Platform
#                              --filter syntax): the GPU category but CheckCommandTests.CudaCheckPasses, which runs
#                              `cct check --accelerator cuda` again after the check step
#   CCT_VALIDATE_CHECK_SECONDS [45], CCT_VALIDATE_TESTS_SECONDS [90], CCT_VALIDATE_KERNELS_SECONDS [40],
#   CCT_VALIDATE_BENCH_SECONDS [170], CCT_VALIDATE_GRAPHS_SECONDS [60],
#   CCT_VALIDATE_EVAL_SECONDS [30]  caps of the other steps
#   CCT_VALIDATE_KERNELS_SIZE  [cct] `Cct.Bench kernels --size`: cct (CCT's shapes) or small (a CPU rehearsal)
#   CCT_VALIDATE_GRAPHS_CASES  [cct-7/3x1:128:tf32x3 cct-2/3x2:512:tf32x3 cct-7/3x1:128:bf16 on cuda, else
#                              cct-2/3x2:128:fp32] the graphs step's runs, PRESET:BATCH:PRECISION, space-separated
#   CCT_VALIDATE_COMPILE_SECONDS [120] cap of the last step, compile, which gets only what the budget has left
#   CCT_VALIDATE_COMPILE_CASE  [cct-7/3x1:128 on cuda, else cct-2/3x2:128] PRESET:BATCH of the compile step: PyTorch's
#                              torch.compile mode beside a Cct fp32 run (the bench step leaves compile out, below)
#   CCT_VALIDATE_SKIP          [] step names to leave out, space-separated: env devices check check-tc bench graphs
#                              tests kernels kernels-tc train (every train-P) train-P eval compile
#   CCT_VALIDATE_ARCHIVE       [] a .tar.gz file to pack OUT_DIR into at the end (checkpoints left out)
#   CCT_BENCH_*                passed on to tools/bench/run-bench-pair.sh; defaults here fit the bench step's cap:
#                              CASES "cct-7/3x1:128 cct-2/3x2:512" (unless PRESETS or BATCHES is set), TIMEOUT 45,
#                              STEPS 10, WARMUP 3, REPEATS 3, PROFILE_STEPS 2, PRECISION fp32,tf32,bf16 (no
#                              compile), and PEAK_TFLOPS from the GPU's name (H100 SXM / H200: 66.9, H100 PCIe: 51.2;
#                              fp32 without tensor cores)
set -uo pipefail

usage="usage: gpu-validate.sh BUNDLE_DIR DATA_DIR OUT_DIR"
die() { echo "gpu-validate.sh: $*" >&2; exit 2; }
[[ $# -eq 3 ]] || die "$usage"
command -v timeout >/dev/null || die "timeout (coreutils) is not installed"

bundle=$(cd "$1" 2>/dev/null && pwd) || die "BUNDLE_DIR $1 does not exist"
data=$(cd "$2" 2>/dev/null && pwd) || die "DATA_DIR $2 does not exist"
out=$3
[[ -x $bundle/cct ]] || die "$bundle/cct is missing: BUNDLE_DIR must be an unpacked bundle (tools/publish-bundle.sh)"
[[ -n $(find "$data" -maxdepth 1 -name 'train-images-idx3-ubyte*' -print -quit) ]] \
    || die "$data holds no train-images-idx3-ubyte[.gz]: DATA_DIR must be the FashionMNIST folder"

int_env() { # VARIABLE NAME DEFAULT: VARIABLE = the non-negative integer in environment variable NAME, or DEFAULT
    local value=${!2:-$3}
    [[ $value =~ ^[0-9]+$ ]] || die "$2 must be a whole number, not '$value'"
    printf -v "$1" '%s' "$value"
}
accelerator=${CCT_VALIDATE_ACCELERATOR:-cuda}
case $accelerator in
    cuda | opencl | cpu | auto) ;;
    *) die "CCT_VALIDATE_ACCELERATOR must be cuda, opencl, cpu or auto, not '$accelerator'" ;;
esac
budget=0 epochs=0 train_seconds=0 check_seconds=0 tests_seconds=0 kernels_seconds=0 bench_seconds=0 eval_seconds=0 graphs_seconds=0 compile_seconds=0
int_env budget CCT_VALIDATE_BUDGET 540
if [[ -n ${CCT_VALIDATE_PRECISION+set} ]]; then tensor_precision=$CCT_VALIDATE_PRECISION
elif [[ $accelerator == cuda ]]; then tensor_precision=tf32x3
else tensor_precision=none; fi
case $tensor_precision in
    tf32x3 | tf32 | bf16 | none) ;;
    *) die "CCT_VALIDATE_PRECISION must be tf32x3, tf32, bf16 or none, not '$tensor_precision'" ;;
esac
model=${CCT_VALIDATE_MODEL:-cct-2/3x2}
if [[ -n ${CCT_VALIDATE_TRAIN_PRECISIONS+set} ]]; then read -r -a train_precisions <<<"$CCT_VALIDATE_TRAIN_PRECISIONS"
elif [[ $accelerator == cuda ]]; then train_precisions=(fp32 tf32x3 bf16)
else train_precisions=(fp32); fi
seen=" "
for p in "${train_precisions[@]}"; do
    [[ $p == fp32 || $p == tf32x3 || $p == tf32 || $p == bf16 ]] \
        || die "CCT_VALIDATE_TRAIN_PRECISIONS must list fp32, tf32x3, tf32 or bf16, space-separated, not '$p'"
    [[ $seen != *" $p "* ]] || die "CCT_VALIDATE_TRAIN_PRECISIONS names $p twice"
    seen+="$p "
done
int_env epochs CCT_VALIDATE_EPOCHS 5
int_env train_seconds CCT_VALIDATE_TRAIN_SECONDS 30
int_env check_seconds CCT_VALIDATE_CHECK_SECONDS 45
int_env tests_seconds CCT_VALIDATE_TESTS_SECONDS 90
int_env kernels_seconds CCT_VALIDATE_KERNELS_SECONDS 40
kernels_size=${CCT_VALIDATE_KERNELS_SIZE:-cct}
[[ $kernels_size == cct || $kernels_size == small ]] || die "CCT_VALIDATE_KERNELS_SIZE must be cct or small, not '$kernels_size'"
int_env bench_seconds CCT_VALIDATE_BENCH_SECONDS 170
int_env eval_seconds CCT_VALIDATE_EVAL_SECONDS 30
int_env graphs_seconds CCT_VALIDATE_GRAPHS_SECONDS 60
int_env compile_seconds CCT_VALIDATE_COMPILE_SECONDS 120
if [[ -n ${CCT_VALIDATE_COMPILE_CASE:-} ]]; then compile_case=$CCT_VALIDATE_COMPILE_CASE
elif [[ $accelerator == cuda ]]; then compile_case=cct-7/3x1:128
else compile_case=cct-2/3x2:128; fi
[[ $compile_case =~ ^[^:\ ]+:[1-9][0-9]*$ ]] || die "CCT_VALIDATE_COMPILE_CASE must be PRESET:BATCH, not '$compile_case'"
if [[ -n ${CCT_VALIDATE_GRAPHS_CASES:-} ]]; then read -r -a graphs_cases <<<"$CCT_VALIDATE_GRAPHS_CASES"
elif [[ $accelerator == cuda ]]; then graphs_cases=(cct-7/3x1:128:tf32x3 cct-2/3x2:512:tf32x3 cct-7/3x1:128:bf16)
else graphs_cases=(cct-2/3x2:128:fp32); fi
for case in "${graphs_cases[@]}"; do
    [[ $case =~ ^[^:]+:[1-9][0-9]*:(fp32|tf32x3|tf32|bf16)$ ]] \
        || die "CCT_VALIDATE_GRAPHS_CASES must list PRESET:BATCH:PRECISION (precision fp32, tf32x3, tf32 or bf16), not '$case'"
done
test_filter=${CCT_VALIDATE_TEST_FILTER:-TestCategory=Gpu&FullyQualifiedName!~CudaCheckPasses}
read -r -a train_extra <<<"${CCT_VALIDATE_TRAIN_ARGS:-}"
skip=" ${CCT_VALIDATE_SKIP:-} "
archive=${CCT_VALIDATE_ARCHIVE:-}
[[ -z $archive || $archive == *.tar.gz ]] || die "CCT_VALIDATE_ARCHIVE must name a .tar.gz file, not '$archive'"
# The bench step's 170 s hold the two cases BENCHMARKS.md sets speed targets for: cct-7/3x1 at batch 128 and
# cct-2/3x2 at 512. Each has three Cct runs (fp32, tf32x3 and bf16; about 12 s a run with its compile on the H200 of
# 2026-11-30) and one PyTorch run of three modes (45 s cap). A mode trains WARMUP + REPEATS x STEPS + PROFILE_STEPS
# = 3 + 3 x 10 + 2 = 35 steps and makes 1 + 3 x 10 = 31 forwards: for cct-7/3x1 at batch 128 at that run's PyTorch
# fp32 rates, 35 x 28.5 ms + 31 x 9.2 ms = 1.3 s a mode, so a run is mostly Python's start, CUDA's and cuDNN's.
# Before, 4 cases at 6 steps and 2 repeats took 260 s; 2 cases at 10 steps and 3 repeats give steadier medians in
# about half. compile is left out: its first training step and first eval call compile the model with inductor,
# uncached on a fresh machine, which takes tens of seconds (not measured here). The last step, compile, runs it at
# one case with whatever the budget has left; CCT_BENCH_PRECISION=all with larger CCT_VALIDATE_BENCH_SECONDS and
# CCT_BENCH_TIMEOUT puts it in the bench step instead. On the CPU (a rehearsal) tf32 is recorded as skipped and bf16
# runs under the CPU's autocast.
if [[ -z ${CCT_BENCH_CASES:-}${CCT_BENCH_PRESETS:-}${CCT_BENCH_BATCHES:-} ]]; then
    export CCT_BENCH_CASES="cct-7/3x1:128 cct-2/3x2:512"
fi
export CCT_BENCH_TIMEOUT=${CCT_BENCH_TIMEOUT:-45} CCT_BENCH_STEPS=${CCT_BENCH_STEPS:-10} CCT_BENCH_WARMUP=${CCT_BENCH_WARMUP:-3} \
    CCT_BENCH_REPEATS=${CCT_BENCH_REPEATS:-3} CCT_BENCH_PROFILE_STEPS=${CCT_BENCH_PROFILE_STEPS:-2} \
    CCT_BENCH_PRECISION=${CCT_BENCH_PRECISION:-fp32,tf32,bf16}
if [[ -z ${CCT_BENCH_PEAK_TFLOPS:-} ]] && command -v nvidia-smi >/dev/null; then
    case $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1) in
        *H100*PCIe*) export CCT_BENCH_PEAK_TFLOPS=51.2 ;;
        *H100* | *H200*) export CCT_BENCH_PEAK_TFLOPS=66.9 ;;
    esac
fi

mkdir -p "$out" 2>/dev/null || die "cannot create OUT_DIR $out"
out=$(cd "$out" && pwd)
# A second run into the same folder would mix results, and `cct train` refuses a folder that holds a run.
[[ -z $(ls -A "$out") ]] || die "OUT_DIR $out is not empty; give a new or empty folder"
if [[ -n $archive ]]; then
    # tar would read the archive it writes.
    [[ $archive == /* ]] || archive=$PWD/$archive
    [[ $archive != "$out"/* ]] || die "CCT_VALIDATE_ARCHIVE $archive must lie outside OUT_DIR $out"
    mkdir -p "$(dirname "$archive")" 2>/dev/null && archive=$(cd "$(dirname "$archive")" && pwd)/$(basename "$archive") \
        || die "cannot create the folder of CCT_VALIDATE_ARCHIVE $archive"
    [[ $archive != "$out"/* ]] || die "CCT_VALIDATE_ARCHIVE $archive must lie outside OUT_DIR $out"
fi
# The GPU machine has no network: no telemetry attempts from the testing platform or .NET.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 TESTINGPLATFORM_TELEMETRY_OPTOUT=1
# The bundle may be read-only or shared: no __pycache__ from the bench's Python inside it.
export PYTHONDONTWRITEBYTECODE=1

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
start=$(date +%s)
deadline=$((start + budget))
kill_grace=20 # after SIGTERM, seconds to save a checkpoint or flush JSON before SIGKILL
bench_reserve=120 # held back for the bench by every step before it: the targets' figures come first
train_reserve=$((25 * ${#train_precisions[@]})) # held back for the training runs by kernels, kernels-tc and graphs
step_number=0
failures=0
skipped=0
rows=()

# Seconds a step may take: its own cap, less what the steps after it still need, never past the deadline even
# when the step uses its kill grace.
allowance() { # CAP RESERVE
    local left=$((deadline - $(date +%s) - $2 - kill_grace))
    ((left < $1)) && echo "$left" || echo "$1"
}

# run_step NAME CAP RESERVE SIGNAL COMMAND...: runs COMMAND with stdout, stderr, exit code and command line
# in OUT_DIR/NN-NAME.*; sets step_rc, step_seconds, step_timed_out and step_status (ok, FAIL, skip).
run_step() {
    local name=$1 cap=$2 reserve=$3 signal=$4
    shift 4
    step_number=$((step_number + 1))
    local base
    base=$(printf '%s/%02d-%s' "$out" "$step_number" "$name")
    step_base=$base
    step_rc=
    step_seconds=0
    step_timed_out=
    if [[ $skip == *" $name "* || ($name == train-* && $skip == *" train "*) ]]; then
        step_status=skip
        echo "skipped: CCT_VALIDATE_SKIP" >"$base.stdout"
        return
    fi
    local limit
    limit=$(allowance "$cap" "$reserve")
    if ((limit < 5)); then
        step_status=skip
        echo "skipped: no time left in the ${budget} s budget" >"$base.stdout"
        return
    fi
    printf '%q ' "$@" >"$base.cmd"
    echo >>"$base.cmd"
    printf '[%s] %-12s (up to %s s) ... ' "$(date +%H:%M:%S)" "$name" "$limit"
    local t0
    t0=$(date +%s)
    # --preserve-status: the command's own exit code (cct train exits 143 after a SIGTERM), not timeout's 124.
    timeout --preserve-status -s "$signal" -k "$kill_grace" "$limit" "$@" >"$base.stdout" 2>"$base.stderr" </dev/null
    step_rc=$?
    step_seconds=$(($(date +%s) - t0))
    ((step_seconds >= limit)) && step_timed_out=$limit
    echo "$step_rc" >"$base.rc"
    if [[ $step_rc -eq 0 ]]; then step_status=ok; else step_status=FAIL; fi
    echo "$step_status (exit $step_rc, ${step_seconds} s)"
}

# metrics.jsonl lines are flat objects with numeric or null values: a field by name, without a JSON parser.
field() { # NAME, reading $line
    grep -o "\"$1\": *[-0-9.eE+]*" <<<"$line" | sed 's/.*: *//'
}

last_line() { # FILE: the last non-empty line, shortened, for the summary
    [[ -f $1 ]] && grep -v '^[[:space:]]*$' "$1" | tail -n 1 | cut -c1-110
}

record() { # NAME NOTE: one summary row for the step just run (a skipped step says why)
    local note=$2
    [[ $step_status == FAIL ]] && failures=$((failures + 1))
    [[ $step_status == skip ]] && skipped=$((skipped + 1))
    [[ $step_status == skip && -z $note ]] && note=$(last_line "$step_base.stdout")
    [[ $step_status == FAIL && -n $step_timed_out ]] && note="timed out at $step_timed_out s; $note"
    rows+=("$(printf '%-12s %-5s %-5s %7s  %s' "$1" "$step_status" "${step_rc:--}" "$step_seconds" "$note")")
}

echo "gpu-validate: bundle $bundle, data $data, out $out, accelerator $accelerator, budget ${budget} s"

# 1. env: the machine, the driver and the bundle's build.
env_info() {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -srm); $(nproc) processors"
    [[ -f $bundle/BUNDLE.txt ]] && sed -n '1,3p' "$bundle/BUNDLE.txt"
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,compute_cap --format=csv
        nvidia-smi
    elif [[ $accelerator == cuda ]]; then
        echo "nvidia-smi not found" >&2
        return 1
    else
        echo "nvidia-smi: not installed (accelerator $accelerator)"
    fi
    local python
    python=$(command -v python3 || true)
    if [[ -n $python ]]; then
        "$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1 \
            || echo "python3 has no torch"
    fi
    return 0
}
export -f env_info
export bundle accelerator
run_step env 30 "$bench_reserve" TERM bash -c env_info
gpu=$(grep -m1 -A1 '^name, driver_version' "$step_base.stdout" 2>/dev/null | tail -n 1)
case $step_status in
    FAIL) note=$(last_line "$step_base.stderr") ;;
    ok) note=${gpu:-no NVIDIA GPU reported} ;;
    *) note= ;;
esac
record env "$note"

# 2. devices: what ILGPU sees; `auto` takes the first row.
run_step devices 30 "$bench_reserve" TERM "$bundle/cct" devices
if [[ $step_status == ok ]]; then
    note="$(grep -c "$accelerator" "$step_base.stdout") row(s) naming $accelerator"
else
    note=$(last_line "$step_base.stderr")
fi
record devices "$note"

# 3. check: every kernel forward and backward against the PyTorch fixtures, on this accelerator.
run_step check "$check_seconds" "$bench_reserve" TERM "$bundle/cct" check --accelerator "$accelerator"
if [[ $step_status == ok ]]; then note=$(last_line "$step_base.stdout"); else note=$(last_line "$step_base.stderr"); fi
record check "$note"

# 3b. check-tc: the same in the tensor-core precision, every Linear row on the tensor cores and bounded for it.
if [[ $tensor_precision != none ]]; then
    run_step check-tc "$check_seconds" "$bench_reserve" TERM "$bundle/cct" check --accelerator "$accelerator" --precision "$tensor_precision"
    if [[ $step_status == ok ]]; then note="$tensor_precision: $(last_line "$step_base.stdout")"; else note=$(last_line "$step_base.stderr"); fi
    record check-tc "$note"
fi

# 4. bench: Cct.Bench and PyTorch on the same device, ratio table in bench/comparison.md.
bench_script=
for candidate in "$bundle/tools/bench/run-bench-pair.sh" "$here/bench/run-bench-pair.sh"; do
    if [[ -f $candidate ]]; then bench_script=$candidate; break; fi
done
if [[ -n $bench_script ]]; then
    bench_precisions=fp32
    [[ $accelerator == cuda ]] && bench_precisions=fp32,tf32x3,bf16
    run_step bench "$bench_seconds" 0 TERM env CCT_BENCH_CCT_PRECISION="${CCT_BENCH_CCT_PRECISION:-$bench_precisions}" \
        bash "$bench_script" "$bundle" "$out/bench" "$accelerator"
    if [[ $step_status == skip ]]; then
        record bench ""
    elif [[ -f $out/bench/comparison.md ]]; then
        record bench "bench/comparison.md$([[ $step_status == FAIL ]] && echo "; some runs failed: $(last_line "$step_base.stderr")")"
    else
        record bench "no comparison.md; $(last_line "$step_base.stderr")"
    fi
else
    step_number=$((step_number + 1)); step_status=skip; step_rc=; step_seconds=0
    record bench "tools/bench/run-bench-pair.sh is not in the bundle"
fi

# 5. graphs: BENCHMARKS.md's target cases in the precisions their targets take (tf32x3 for both, bf16 for cct-7/3x1),
# replayed as CUDA graphs, one Cct.Bench run each (about 12 s with its compile). The bench step's plain runs of the
# same cases are their baseline, and compare.py over bench/ and graphs/ (graphs/comparison.md) judges the targets by
# the faster of the two. Bit-identity is the tests step's (GraphReplayTests). Off CUDA the runs launch plainly (a
# rehearsal of the commands, the JSON and the comparison), since graphs need CUDA.
if [[ -x $bundle/bench/Cct.Bench ]]; then
    mode=graphs
    [[ $accelerator == cuda ]] || mode=plain
    mkdir -p "$out/graphs"
    run_step graphs "$graphs_seconds" "$train_reserve" TERM bash -c '
        bundle=$1 dir=$2 accelerator=$3 mode=$4
        shift 4
        flag=; [[ $mode == graphs ]] && flag=--cuda-graphs
        for case in "$@"; do
            IFS=: read -r preset batch precision <<<"$case"
            echo "=== $preset, batch $batch, $precision, $mode ==="
            "$bundle/bench/Cct.Bench" train --model "$preset" --batch "$batch" --accelerator "$accelerator" --precision "$precision" \
                --steps 20 --warmup 3 --repeats 3 --profile-steps 1 $flag --json "$dir/cct-${preset//\//_}-b$batch-$precision-$mode.json" || exit
        done' graphs "$bundle" "$out/graphs" "$accelerator" "$mode" "${graphs_cases[@]}"
    graphs_status=$step_status
    note=$(grep -hE '^(===|training|graphs):? ' "$step_base.stdout" 2>/dev/null | sed -E 's/^=== (.*) ===$/\1:/' | tr -s ' ' | tr '\n' ' ' | sed 's/ $//')
    [[ $accelerator == cuda ]] || note="${note:+$note; }plain launches only: CUDA graphs need --accelerator cuda"
    [[ $step_status == FAIL ]] && note=$(last_line "$step_base.stderr")
    # The targets again with these runs beside the bench's plain ones (whatever either step left).
    compare_py=$bundle/tools/bench/compare.py
    [[ -f $compare_py ]] || compare_py=$here/bench/compare.py
    if [[ $step_status != skip && -f $compare_py ]] && command -v python3 >/dev/null; then
        compare_args=("$out/graphs")
        [[ -d $out/bench ]] && compare_args=("$out/bench" "$out/graphs")
        [[ -n ${CCT_BENCH_PEAK_TFLOPS:-} ]] && compare_args+=(--peak-tflops "$CCT_BENCH_PEAK_TFLOPS")
        python3 "$compare_py" "${compare_args[@]}" --markdown "$out/graphs/comparison.md" >"$out/graphs/compare.log" 2>&1 \
            && note="${note:+$note; }graphs/comparison.md" || note="${note:+$note; }compare.py failed: $(last_line "$out/graphs/compare.log")"
    fi
    step_status=$graphs_status
    [[ $step_status == skip ]] && note= # record says why
    record graphs "$note"
else
    step_number=$((step_number + 1)); step_status=skip; step_rc=; step_seconds=0
    record graphs "bench/Cct.Bench is not in the bundle"
fi

# 6. tests: the suite's GPU category. Exit 8 means no test matched the filter.
if [[ -x $bundle/tests/Cct.Tests ]]; then
    run_step tests "$tests_seconds" 0 TERM "$bundle/tests/Cct.Tests" --filter "$test_filter" \
        --results-directory "$out/tests" --no-ansi --no-progress --output Detailed
    # The runner's closing lines: "  total: N", "  failed: N", "  succeeded: N", "  skipped: N". A run its limit cut
    # short has none; --output Detailed printed a "passed NAME" or "failed NAME" line as each test ended.
    note=$(grep -E '^\s+(total|failed|succeeded|skipped):' "$step_base.stdout" 2>/dev/null | tr -s ' ' | tr '\n' ',' | sed 's/^ //; s/,$//; s/, / /g')
    if [[ -z $note && -n $step_timed_out ]]; then
        note="$(grep -c '^passed ' "$step_base.stdout") passed, $(grep -c '^failed ' "$step_base.stdout") failed before the limit"
    fi
    if [[ $step_rc == 8 ]]; then
        step_status=none
        note="no test matches '$test_filter'"
    fi
    record tests "${note:-$(last_line "$step_base.stderr")}"
else
    step_number=$((step_number + 1)); step_status=FAIL; step_rc=; step_seconds=0
    record tests "$bundle/tests/Cct.Tests is missing"
fi

# 7. kernels: the check's registry cases timed alone at CCT sizes (GFLOP/s, GB/s) after a comparison with the CPU accelerator, for tuning.
if [[ -x $bundle/bench/Cct.Bench ]]; then
    run_step kernels "$kernels_seconds" "$train_reserve" TERM "$bundle/bench/Cct.Bench" kernels --size "$kernels_size" --accelerator "$accelerator" --json "$out/kernels.json"
    # Cct.Bench exits 1 when a case fails its comparison; those lines say "FAILED validation".
    note="kernels.json; $(grep -c 'FAILED' "$step_base.stdout" 2>/dev/null) case(s) failed validation"
    [[ $step_status == FAIL && -s $step_base.stderr ]] && note=$(last_line "$step_base.stderr")
    [[ $step_status == skip ]] && note=
    record kernels "$note"
    # 7'. kernels-tc: the same cases with the Linear rows on the tensor cores, to set beside kernels.json.
    if [[ $tensor_precision != none ]]; then
        run_step kernels-tc "$kernels_seconds" "$train_reserve" TERM "$bundle/bench/Cct.Bench" kernels --size "$kernels_size" --accelerator "$accelerator" \
            --precision "$tensor_precision" --json "$out/kernels-$tensor_precision.json"
        note="kernels-$tensor_precision.json; $(grep -c 'FAILED' "$step_base.stdout" 2>/dev/null) case(s) failed validation"
        [[ $step_status == FAIL && -s $step_base.stderr ]] && note=$(last_line "$step_base.stderr")
        [[ $step_status == skip ]] && note=
        record kernels-tc "$note"
    fi
else
    step_number=$((step_number + 1)); step_status=skip; step_rc=; step_seconds=0
    record kernels "bench/Cct.Bench is not in the bundle"
fi

# 8. train-P: the model from seed 0 in each training precision, each for a fixed time budget, then SIGTERM, which
# `cct train` takes as it takes Ctrl+C (saves checkpoint-last, exit 143; 130 after a SIGINT). Not SIGINT: a job that a
# shell without job control starts in the background ignores SIGINT from birth, and .NET keeps it ignored. The same
# seed and data order in every precision, so the test accuracies per epoch differ only by the precision's arithmetic.
train_step() { # PRECISION: runs and records step train-PRECISION into OUT_DIR/train-PRECISION
    local precision=$1 metrics completed note best_acc
    run_step "train-$precision" "$train_seconds" 0 TERM "$bundle/cct" train --model "$model" --epochs "$epochs" --seed 0 \
        --precision "$precision" --data "$data" --out "$out/train-$precision" --accelerator "$accelerator" "${train_extra[@]}"
    metrics=$out/train-$precision/metrics.jsonl
    completed=0
    [[ -f $metrics ]] && completed=$(grep -c . "$metrics")
    if [[ $step_status == skip ]]; then
        note=
    elif [[ $step_rc == 143 || $step_rc == 130 ]]; then
        step_status=ok
        note="stopped by the time budget after $completed epoch(s)"
        if [[ $completed -eq 0 ]]; then
            note="stopped by the time budget before the first epoch ended; $(grep -m1 -o 'saved checkpoint-last[^;]*' "$step_base.stdout" || echo 'no checkpoint saved')"
        fi
    elif [[ $step_rc == 0 ]]; then
        note="finished $completed epoch(s)"
    else
        note="$(last_line "$step_base.stderr")"
    fi
    best_acc=
    if [[ -f $metrics ]]; then
        best_acc=$(while IFS= read -r line; do field test_acc; done <"$metrics" | sort -g | tail -n 1)
    fi
    [[ -n $best_acc ]] && note="$note; best test acc $(awk -v a="$best_acc" 'BEGIN { printf "%.2f %%", 100 * a }')"
    record "train-$precision" "$note"
}
for precision in "${train_precisions[@]}"; do
    train_step "$precision"
done

# 9. eval: the report (confusion, ROC, ...) of the first training run's checkpoint-best that exists, which an
# interrupted run did not write.
best=
for precision in "${train_precisions[@]}"; do
    if [[ -f $out/train-$precision/checkpoint-best.safetensors ]]; then
        best=$out/train-$precision/checkpoint-best.safetensors
        break
    fi
done
if [[ -n $best ]]; then
    # The same --test-limit as the training run, if it had one.
    eval_extra=()
    for ((i = 0; i + 1 < ${#train_extra[@]}; i++)); do
        [[ ${train_extra[i]} == --test-limit ]] && eval_extra=(--test-limit "${train_extra[i + 1]}")
    done
    run_step eval "$eval_seconds" 0 TERM "$bundle/cct" eval --checkpoint "$best" --data "$data" --out "$out/eval" \
        --accelerator "$accelerator" "${eval_extra[@]}"
    if [[ $step_status == ok ]]; then
        # The report table's line "accuracy  0.9012  10000".
        note=$(awk '$1 == "accuracy" { printf "test accuracy %.2f %% on %d images", 100 * $2, $3; exit }' "$step_base.stdout")
    else
        note=$(last_line "$step_base.stderr")
    fi
    record eval "$note"
else
    step_number=$((step_number + 1)); step_status=skip; step_rc=; step_seconds=0
    record eval "no checkpoint-best (no epoch completed)"
fi

# 10. compile: PyTorch's torch.compile mode (inductor, fp32, TF32 off) beside a Cct fp32 run at one case, in
# compile/comparison.md. Last and with no time held back for it: no target is judged on it, and inductor's first
# compile on a fresh machine takes tens of seconds, so it runs on what the steps before it left of the budget (or is
# skipped, saying so). PyTorch before 2.0 has no torch.compile: its report says skipped, and the step is ok.
if [[ -n $bench_script ]]; then
    run_step compile "$compile_seconds" 0 TERM env -u CCT_BENCH_PRESETS -u CCT_BENCH_BATCHES CCT_BENCH_CASES="$compile_case" \
        CCT_BENCH_PRECISION=compile CCT_BENCH_CCT_PRECISION=fp32 CCT_BENCH_TIMEOUT="$compile_seconds" \
        bash "$bench_script" "$bundle" "$out/compile" "$accelerator"
    note=
    if [[ $step_rc == 143 && -n $step_timed_out ]]; then
        # Cut by the budget it runs on, as it may be: not a failure. run-bench-pair.sh wrote the tables of what it measured.
        step_status=ok
        note="stopped by the time budget at $step_timed_out s"
    fi
    if [[ $step_status != skip && -f $out/compile/comparison.md ]]; then
        # The PyTorch report's compile run: its status, and its training rate when it ran.
        compile_note=$(python3 - "$out/compile" <<'PY' 2>/dev/null
import glob, json, sys
for name in glob.glob(sys.argv[1] + "/pytorch-*.json"):
    report = json.load(open(name))
    for run in report.get("runs", []):
        if run.get("mode") == "compile":
            rate = run.get("train_images_per_second")
            reason = run.get("reason") or run.get("error") or ""
            print("%s %s: %s%s" % (report.get("preset"), report.get("batch"), run.get("status"),
                                   ", training %.0f img/s" % rate if rate else "; " + reason if reason else ""))
PY
)
        note="${note:+$note; }${compile_note:+$compile_note; }compile/comparison.md"
    fi
    [[ $step_status == FAIL ]] && note="${note:+$note; }$(last_line "$step_base.stderr")"
    record compile "$note"
fi

# The summary: one row per step, test accuracy per epoch, the bench ratio table, the targets with graphs.
{
    echo "Cct GPU validation, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), accelerator $accelerator"
    echo "bundle: $bundle ($(sed -n '2p' "$bundle/BUNDLE.txt" 2>/dev/null))"
    echo "gpu: ${gpu:-none reported}"
    echo "total: $(($(date +%s) - start)) s of a ${budget} s budget"
    echo
    printf '%-12s %-5s %-5s %7s  %s\n' step status exit seconds note
    printf '%s\n' "${rows[@]}"
    echo
    for precision in "${train_precisions[@]}"; do
        metrics=$out/train-$precision/metrics.jsonl
        [[ -f $metrics ]] || continue
        echo "per epoch ($model in $precision, seed 0, from train-$precision/metrics.jsonl):"
        printf '%5s %10s %9s %9s %9s %8s\n' epoch train_loss train_acc test_acc img/s seconds
        while IFS= read -r line; do
            awk -v e="$(field epoch)" -v l="$(field train_loss)" -v a="$(field train_acc)" -v t="$(field test_acc)" \
                -v r="$(field images_per_second)" -v s="$(field seconds)" \
                'BEGIN { printf "%5d %10.4f %8.2f%% %8.2f%% %9.0f %8.1f\n", e, l, 100 * a, 100 * t, r, s }'
        done <"$metrics"
        echo
    done
    if [[ -f $out/bench/comparison.md ]]; then
        echo "bench pair (bench/comparison.md):"
        cat "$out/bench/comparison.md"
        echo
    fi
    if [[ -f $out/compile/comparison.md ]]; then
        echo "torch.compile beside Cct fp32 (compile/comparison.md), first table:"
        awk '/^\|/ { on = 1; print; next } on { exit }' "$out/compile/comparison.md"
        echo
    fi
    if [[ -f $out/graphs/comparison.md ]] && grep -q '^Targets' "$out/graphs/comparison.md"; then
        echo "the targets again, with the graphs step's runs (graphs/comparison.md):"
        awk '/^Targets/ { on = 1 } on { print; if ($0 == "" && ++blank == 2) exit }' "$out/graphs/comparison.md"
    fi
    echo "result: $failures step(s) failed, $skipped skipped"
} >"$out/summary.txt"
echo
cat "$out/summary.txt"
if [[ -n $archive ]]; then
    # Checkpoints are the one large output (and no figure): left out, so the archive stays a few MiB.
    if tar -czf "$archive" --exclude='*.safetensors' -C "$(dirname "$out")" "$(basename "$out")"; then
        echo "archive: $archive ($(du -h "$archive" | cut -f1))"
    else
        echo "gpu-validate.sh: could not write the archive $archive" >&2
        echo "archive: FAILED to write $archive" >>"$out/summary.txt"
        failures=$((failures + 1))
    fi
fi
[[ $failures -eq 0 ]]
