#!/usr/bin/env bash
# Runs `Cct.Bench train` and tools/bench/pytorch_bench.py on the same device for every preset and batch,
# then prints the comparison tables (tools/bench/compare.py) and writes them to OUT_DIR/comparison.md.
#
# usage: tools/bench/run-bench-pair.sh BUNDLE_OR_REPO OUT_DIR [auto|cuda|opencl|cpu]
#
# BUNDLE_OR_REPO is either
#   * an unpacked bundle (tools/publish-bundle.sh) with the self-contained BUNDLE/bench/Cct.Bench, no .NET needed, or
#   * a checkout with Cct.Bench/Cct.Bench.csproj: built once (Release) with the .NET SDK, then run with dotnet run.
# The PyTorch side is always the pytorch_bench.py next to this script, which imports ../reference/cct_reference.py;
# a bundle ships tools/bench/ and tools/reference/ in that layout.
#
# The accelerator (default auto) is Cct's. `opencl` is the bench pair's OpenCL mode: Cct runs on the OpenCL device
# through tools/opencl.sh (a CPU runtime such as PoCL, provisioned when the host has none that ILGPU accepts), and,
# when PyTorch sees no CUDA device, each preset and batch also runs on Cct's CPU accelerator, so one run on the same
# cores gives OpenCL, the CPU accelerator and PyTorch CPU side by side (OUT_DIR/opencl.md, tools/bench/opencl_table.py).
# PyTorch runs on CUDA when Cct ran on CUDA, or on OpenCL and PyTorch
# sees a CUDA device; otherwise on the CPU. On CUDA PyTorch runs all four precision modes of pytorch_bench.py
# (fp32 = TF32 off; tf32 = TF32 on; bf16 = autocast to bfloat16; compile = torch.compile in fp32, skipped before
# PyTorch 2.0); on the CPU only fp32.
#
# Environment overrides (CPU runs need tiny ones):
#   CCT_BENCH_PRESETS        presets, space-separated (default "cct-2/3x2 cct-7/3x1")
#   CCT_BENCH_BATCHES        batch sizes, space-separated (default "128 512"); every preset runs at every batch
#   CCT_BENCH_CASES          instead of those two, the runs as PRESET:BATCH pairs, space-separated, in order
#                            (e.g. "cct-7/3x1:128 cct-2/3x2:512")
#   CCT_BENCH_STEPS, CCT_BENCH_WARMUP, CCT_BENCH_REPEATS, CCT_BENCH_PROFILE_STEPS
#                            passed to both sides (defaults 20, 5, 3, 3)
#   CCT_BENCH_PRECISION      PyTorch modes, comma-separated, of fp32, tf32, bf16 and compile, or all
#                            (default: all on CUDA, fp32 on the CPU; "tf32" on the CPU is recorded as skipped)
#   CCT_BENCH_CCT_PRECISION  Cct's precisions for its Linear products, comma-separated, of fp32, tf32x3, tf32 and
#                            bf16 (default fp32); each after the first is one more Cct run per preset and batch
#                            (cct-TAG-P.json), and compare.py gives it its own row. All but fp32 need CUDA.
#   CCT_BENCH_PEAK_TFLOPS    the device's fp32 peak in TFLOP/s, for compare.py's % of peak (H100 SXM / H200: ~67)
#   CCT_BENCH_TIMEOUT        seconds per single run (default 600)
#   CCT_BENCH_PYTHON         Python with torch (default: the first of python3, /usr/bin/python3 that imports torch)
#
# Exit code: 0 when every run succeeded, 1 when some failed (the tables then have gaps), 2 for bad arguments.
set -uo pipefail

die() { echo "run-bench-pair.sh: $*" >&2; exit 2; }

[[ $# -ge 2 && $# -le 3 ]] || die "usage: $0 BUNDLE_OR_REPO OUT_DIR [auto|cuda|opencl|cpu]"
source_dir=$1
out_dir=$2
accelerator=${3:-auto}
case $accelerator in
    auto | cuda | opencl | cpu) ;;
    *) die "accelerator must be auto, cuda, opencl or cpu, not '$accelerator'" ;;
esac

whole_env() { # VARIABLE NAME DEFAULT MIN: VARIABLE = the whole number >= MIN in environment variable NAME, or DEFAULT
    local value=${!2:-$3}
    if ! [[ $value =~ ^[0-9]+$ ]] || ((10#$value < $4)); then
        die "$2 must be a whole number of at least $4, not '$value'"
    fi
    printf -v "$1" '%s' "$((10#$value))"
}
steps=0 warmup=0 repeats=0 profile_steps=0 run_timeout=0
whole_env steps CCT_BENCH_STEPS 20 1
whole_env warmup CCT_BENCH_WARMUP 5 1
whole_env repeats CCT_BENCH_REPEATS 3 1
whole_env profile_steps CCT_BENCH_PROFILE_STEPS 3 1
whole_env run_timeout CCT_BENCH_TIMEOUT 600 1
presets=${CCT_BENCH_PRESETS:-cct-2/3x2 cct-7/3x1}
batches=${CCT_BENCH_BATCHES:-128 512}
# The runs, as PRESET:BATCH. By default batch sizes outer: every preset at the first batch size comes before any at
# the next, so a time limit that cuts the run short still leaves a comparison of each preset.
cases=()
if [[ -n ${CCT_BENCH_CASES:-} ]]; then
    [[ -z ${CCT_BENCH_PRESETS:-}${CCT_BENCH_BATCHES:-} ]] || die "CCT_BENCH_CASES replaces CCT_BENCH_PRESETS and CCT_BENCH_BATCHES; set one or the other"
    read -r -a cases <<<"$CCT_BENCH_CASES"
    [[ ${#cases[@]} -gt 0 ]] || die "CCT_BENCH_CASES holds no PRESET:BATCH pair"
else
    for batch in $batches; do
        for preset in $presets; do cases+=("$preset:$batch"); done
    done
fi
for case in "${cases[@]}"; do
    batch=${case##*:}
    if [[ $case != *:* || -z ${case%:*} ]] || ! [[ $batch =~ ^[0-9]+$ ]] || ((10#$batch < 1)); then
        die "each run must be PRESET:BATCH with a whole batch of at least 1, not '$case' (CCT_BENCH_CASES, or CCT_BENCH_BATCHES)"
    fi
done
# list_of ARRAY NAME TEXT CHOICE...: ARRAY = the comma-separated items of TEXT, each one of the CHOICEs, else an error
# naming the variable NAME. The extra comma keeps a trailing empty item, which read would drop: "fp32," is refused,
# as pytorch_bench.py does.
list_of() {
    local -n items=$1
    local name=$2 text=$3 item
    shift 3
    IFS=, read -r -a items <<<"$text,"
    for item in "${items[@]}"; do
        [[ -n $item && " $* " == *" $item "* ]] || die "$name must list $(printf '%s, ' "$@" | sed 's/, $//'), comma-separated; not '$text'"
    done
}
# Checked here, before any run, although pytorch_bench.py checks it too: a typo would otherwise show only
# after the first Cct run. PyTorch's modes may also be "all".
precision=${CCT_BENCH_PRECISION:-}
if [[ -n $precision && $precision != all ]]; then
    list_of precision_modes CCT_BENCH_PRECISION "$precision" fp32 tf32 bf16 compile
fi
list_of cct_precisions CCT_BENCH_CCT_PRECISION "${CCT_BENCH_CCT_PRECISION:-fp32}" fp32 tf32x3 tf32 bf16
# Without CCT_BENCH_PRECISION, pytorch_bench.py picks the modes for the device it runs on.
precision_args=()
[[ -n $precision ]] && precision_args=(--precision "$precision")
peak_tflops=${CCT_BENCH_PEAK_TFLOPS:-}
if [[ -n $peak_tflops ]]; then
    [[ $peak_tflops =~ ^[0-9]*\.?[0-9]+$ && $peak_tflops =~ [1-9] ]] \
        || die "CCT_BENCH_PEAK_TFLOPS must be a positive number, not '$peak_tflops'"
fi

# How to start Cct.Bench: the bundle's executable, or the checkout through the SDK (built below).
if [[ -x $source_dir/bench/Cct.Bench ]]; then
    cct_bench=("$source_dir/bench/Cct.Bench")
elif [[ -f $source_dir/Cct.Bench/Cct.Bench.csproj ]]; then
    command -v dotnet >/dev/null || die "$source_dir is a checkout but dotnet is not on PATH; pass an unpacked bundle instead"
    # The built dll rather than `dotnet run`: it also runs inside tools/opencl.sh's chroot, which has no MSBuild state.
    cct_bench=(dotnet "$(cd "$source_dir" && pwd)/Cct.Bench/bin/Release/net10.0/Cct.Bench.dll")
else
    die "$source_dir has neither bench/Cct.Bench (bundle) nor Cct.Bench/Cct.Bench.csproj (checkout)"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$out_dir" || die "cannot create OUT_DIR $out_dir"
out_dir=$(cd "$out_dir" && pwd) # absolute: dotnet run may start the app in another folder

# A Python that has torch: the system one on Debian (python3-torch), or whatever the GPU machine provides.
python=${CCT_BENCH_PYTHON:-}
if [[ -z $python ]]; then
    for candidate in python3 /usr/bin/python3; do
        if command -v "$candidate" >/dev/null && "$candidate" -c "import torch" 2>/dev/null; then
            python=$candidate
            break
        fi
    done
    [[ -n $python ]] || die "no Python with torch found (tried python3, /usr/bin/python3); set CCT_BENCH_PYTHON"
elif ! "$python" -c "import torch" 2>/dev/null; then
    die "CCT_BENCH_PYTHON=$python cannot import torch"
fi
torch_cuda=$("$python" -c 'import torch; print("yes" if torch.cuda.is_available() else "no")')

if [[ ${cct_bench[0]} == dotnet ]]; then
    echo "building Cct.Bench (Release) ..."
    if ! dotnet build -c Release --nologo "$source_dir/Cct.Bench/Cct.Bench.csproj" >"$out_dir/build.log" 2>&1; then
        tail -n 20 "$out_dir/build.log" >&2
        echo "run-bench-pair.sh: dotnet build of $source_dir/Cct.Bench failed; see $out_dir/build.log" >&2
        exit 1
    fi
fi

# OpenCL runs go through tools/opencl.sh, which bind-mounts the output and source folders into its chroot.
simulator_too=no
opencl_run=()
if [[ $accelerator == opencl ]]; then
    opencl_run=(env "CCT_OPENCL_BIND=$out_dir:$(cd "$source_dir" && pwd)" bash "$here/../opencl.sh")
    [[ $torch_cuda == yes ]] || simulator_too=yes
fi

# --foreground keeps each run in this script's process group, so a signal to the group (as gpu-validate.sh's
# own time limit sends) reaches the benchmark too. On expiry only the direct child is signalled; dotnet run
# passes SIGTERM on to the app.
with_timeout=()
if command -v timeout >/dev/null; then
    with_timeout=(timeout --foreground -k 10 "$run_timeout")
fi

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -srm); $(nproc) processors; load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
    echo "cct-bench: ${cct_bench[*]}"
    echo "python: $python ($("$python" -c 'import platform, torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "python", platform.python_version())'))"
    echo "runs (preset:batch): ${cases[*]}; steps $steps, warm-up $warmup, repeats $repeats, profile steps $profile_steps; accelerator $accelerator"
    echo "PyTorch precision modes: ${precision:-all on CUDA, fp32 on the CPU}; Cct precisions: ${cct_precisions[*]}"
    echo "fp32 peak for compare.py: ${peak_tflops:-not given} TFLOP/s"
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
    fi
} >"$out_dir/environment.txt"
cat "$out_dir/environment.txt"

# The device PyTorch should use: the class of device Cct actually ran on (auto may have fallen back to the
# CPU), or, when Cct wrote no JSON, the one it was asked for.
torch_device() { # CCT_JSON
    local kind
    kind=$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("kind", ""))' "$1" 2>/dev/null)
    case ${kind:-$accelerator} in
        cuda) echo cuda ;;
        cpu) echo cpu ;;
        *) if [[ $torch_cuda == yes ]]; then echo cuda; else echo cpu; fi ;; # opencl, or auto with no JSON
    esac
}

# The tables of what was measured: at the end, or when a time limit stops the script (gpu-validate.sh's bench step
# sends SIGTERM to the process group; bash runs the trap once the run in progress has exited, which has written its JSON).
tables() {
    if [[ $simulator_too == yes ]]; then
        "$python" "$here/opencl_table.py" "$out_dir" --markdown "$out_dir/opencl.md" || failures=$((failures + 1))
    fi
    local compare=("$python" "$here/compare.py" "$out_dir" --markdown "$out_dir/comparison.md")
    [[ -n $peak_tflops ]] && compare+=(--peak-tflops "$peak_tflops")
    "${compare[@]}" || failures=$((failures + 1))
}
trap 'echo "run-bench-pair.sh: stopped by SIGTERM; the tables have what was measured" >&2; tables; exit 143' TERM

failures=0
run_failed() { # WHAT RC LOG
    local why="exit $2"
    [[ $2 -eq 124 && ${#with_timeout[@]} -gt 0 ]] && why="over CCT_BENCH_TIMEOUT, $run_timeout s"
    echo "run-bench-pair.sh: $1 failed ($why); see $3" >&2
    failures=$((failures + 1))
}

for case in "${cases[@]}"; do
    preset=${case%:*}
    batch=$((10#${case##*:}))
    tag="${preset//\//_}-b$batch"
    cct_json=$out_dir/cct-$tag.json
    torch_json=$out_dir/pytorch-$tag.json
    rm -f "$cct_json" "$torch_json" # a stale file from an earlier run would pass for this one's
    echo
    for cct_precision in "${cct_precisions[@]}"; do
        # The first precision's files keep the plain names (compare.py and torch_device read cct-TAG.json).
        suffix=
        [[ $cct_precision == "${cct_precisions[0]}" ]] || suffix=-$cct_precision
        rm -f "$out_dir/cct-$tag$suffix.json"
        echo "=== $preset, batch $batch: Cct ($accelerator, $cct_precision) ==="
        "${with_timeout[@]}" "${opencl_run[@]}" "${cct_bench[@]}" train --model "$preset" --batch "$batch" --accelerator "$accelerator" \
            --precision "$cct_precision" --steps "$steps" --warmup "$warmup" --repeats "$repeats" --profile-steps "$profile_steps" \
            --json "$out_dir/cct-$tag$suffix.json" 2>&1 | tee "$out_dir/cct-$tag$suffix.log"
        rc=${PIPESTATUS[0]}
        # Cct.Bench rewrites its JSON after each phase, so a run cut short keeps what it measured ("complete": false).
        [[ $rc -eq 0 ]] || run_failed "Cct $preset batch $batch ($cct_precision)" "$rc" "$out_dir/cct-$tag$suffix.log"
    done

    if [[ $simulator_too == yes ]]; then
        simulator_json=$out_dir/simulator-$tag.json
        rm -f "$simulator_json"
        echo "=== $preset, batch $batch: Cct (cpu accelerator) ==="
        "${with_timeout[@]}" "${cct_bench[@]}" train --model "$preset" --batch "$batch" --accelerator cpu \
            --steps "$steps" --warmup "$warmup" --repeats "$repeats" --profile-steps 1 --json "$simulator_json" \
            2>&1 | tee "$out_dir/simulator-$tag.log"
        rc=${PIPESTATUS[0]}
        [[ $rc -eq 0 ]] || run_failed "Cct (cpu accelerator) $preset batch $batch" "$rc" "$out_dir/simulator-$tag.log"
    fi

    device=$(torch_device "$cct_json")
    echo "=== $preset, batch $batch: PyTorch ($device, precision ${precision:-by device}) ==="
    "${with_timeout[@]}" "$python" "$here/pytorch_bench.py" --model "$preset" --batch "$batch" --device "$device" \
        --steps "$steps" --warmup "$warmup" --repeats "$repeats" --profile-steps "$profile_steps" \
        "${precision_args[@]}" --json "$torch_json" 2>&1 | tee "$out_dir/pytorch-$tag.log"
    rc=${PIPESTATUS[0]}
    [[ $rc -eq 0 ]] || run_failed "PyTorch $preset batch $batch" "$rc" "$out_dir/pytorch-$tag.log"
done

echo
trap - TERM
tables
if [[ $failures -gt 0 ]]; then
    echo "run-bench-pair.sh: $failures run(s) failed; the tables have gaps where they are missing" >&2
    exit 1
fi
