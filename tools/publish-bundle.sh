#!/usr/bin/env bash
# Builds the GPU bundle: trimmed, self-contained linux-x64 executables that run on a machine with the
# NVIDIA driver but no .NET, plus the scripts that validate and benchmark it there.
#
# usage: tools/publish-bundle.sh [OUTDIR [TARBALL]]
#   OUTDIR   default bundle/ (git-ignored); replaced if it holds an earlier bundle, refused if it holds anything else
#   TARBALL  default artifacts/cct-bundle-linux-x64.tar.xz; unpacks to cct-bundle/
#
# Layout of OUTDIR:
#   cct                  the CLI (train, eval, predict, devices, summary, check), with its runtime beside it
#   tests/Cct.Tests      the NUnit suite as a self-running executable (NUnit runner, Microsoft.Testing.Platform),
#                        with tests/Fixtures/*.safetensors
#   bench/Cct.Bench      kernel and training benchmarks (when the checkout has Cct.Bench)
#   tools/               gpu-validate.sh, gpu-recipes.sh and time-to-accuracy.sh, bench/ and reference/ (the PyTorch side of the bench pair)
#   BUNDLE.txt           commit, build date, how to run
# Each executable carries its own trimmed runtime: the trimmer keeps a different part of the framework for
# each app, so they cannot share one folder.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$repo/bundle}
tarball=${2:-$repo/artifacts/cct-bundle-linux-x64.tar.xz}
marker=BUNDLE.txt

fail() { echo "publish-bundle.sh: $*" >&2; exit 2; }

[[ $# -le 2 ]] || fail "usage: tools/publish-bundle.sh [OUTDIR [TARBALL]]"
command -v dotnet >/dev/null || fail "dotnet (the .NET 10 SDK) is not on PATH; the bundle is built where the SDK is, and runs where it is not"
command -v xz >/dev/null || fail "xz is not installed (apt-get install xz-utils)"

mkdir -p "$out" "$(dirname "$tarball")"
out=$(cd "$out" && pwd)
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")
# OUTDIR is deleted and rebuilt: only ever an earlier bundle or an empty folder, never the checkout or a home.
case $out in
    / | "$repo" | "$HOME") fail "refusing to use $out as OUTDIR" ;;
esac
if [[ -n $(ls -A "$out") && ! -f $out/$marker ]]; then
    fail "$out is not empty and holds no $marker (not an earlier bundle); choose an empty or new folder"
fi
case $tarball in
    "$out"/*) fail "TARBALL must lie outside OUTDIR" ;;
esac

# A separate artifacts folder: the publish restores for linux-x64 and builds with other properties, and
# must not disturb bin/ and obj/ of a `dotnet test` running in the same checkout.
build=$repo/artifacts/bundle-build
rm -rf "$build" "${out:?}"/* "$tarball"
# Marks the folder as ours at once, so a failed run can be repeated into it.
echo "incomplete: tools/publish-bundle.sh did not finish" >"$out/$marker"

# PublishTrimmed switches on the trimmer roots and the IL2104 note in Directory.Build.props.
# InvariantGlobalization (Directory.Build.props) spares GPU machines that lack ICU.
common=(-c Release -r linux-x64 --self-contained true -p:PublishTrimmed=true --artifacts-path "$build" --nologo -v quiet)

publish() { # PROJECT DEST [extra msbuild arguments]
    local project=$1 dest=$2
    shift 2
    local log
    log=$build/publish-$(basename "$project" .csproj).log
    echo "publishing $project -> $dest"
    if ! dotnet publish "$repo/$project" "${common[@]}" -o "$dest" "$@" >"$log" 2>&1; then
        cat "$log" >&2
        fail "dotnet publish $project failed (log above)"
    fi
}

mkdir -p "$build"
publish Cct.Cli/Cct.Cli.csproj "$out"
# CctTestRunner=true turns on the NUnit runner and its trimming settings only here (Cct.Tests.csproj);
# `dotnet test Cct.sln` keeps VSTest mode.
publish Cct.Tests/Cct.Tests.csproj "$out/tests" -p:CctTestRunner=true
if [[ -f $repo/Cct.Bench/Cct.Bench.csproj ]]; then
    # Cct.Bench writes its JSON with reflection-based System.Text.Json, which trimmed apps switch off and
    # the trim analyzer rejects. The app is a trimmer root (Directory.Build.props), so the serialized
    # types keep every member and reflection can be switched back on.
    publish Cct.Bench/Cct.Bench.csproj "$out/bench" -p:JsonSerializerIsReflectionEnabledByDefault=true \
        -p:EnableTrimAnalyzer=false -p:SuppressTrimAnalysisWarnings=true
fi

# Native files that only debuggers, crash dumps, LTTng tracing and the opt-in standalone GCs load
# (the runtime starts without them): ~7 MiB per app.
for app in "$out" "$out/tests" "$out/bench"; do
    [[ -d $app ]] || continue
    rm -f "$app"/createdump "$app"/libmscordaccore.so "$app"/libmscordbi.so "$app"/libcoreclrtraceptprovider.so \
        "$app"/libclrgc.so "$app"/libclrgcexp.so
done

# The scripts that run on the GPU machine: validation, and the bench pair with its PyTorch side.
mkdir -p "$out/tools"
cp "$repo/tools/gpu-validate.sh" "$repo/tools/gpu-recipes.sh" "$repo/tools/time-to-accuracy.sh" "$out/tools/"
for dir in bench reference; do
    if [[ -d $repo/tools/$dir ]]; then
        mkdir -p "$out/tools/$dir"
        find "$repo/tools/$dir" -maxdepth 1 -type f \( -name '*.sh' -o -name '*.py' -o -name '*.md' \) -exec cp {} "$out/tools/$dir/" \;
    fi
done
# Executable whatever the checkout's file modes (a copy from a zip or a Windows checkout loses them).
find "$out/tools" -name '*.sh' -exec chmod +x {} +

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null | head -n 1)
cat >"$out/$marker" <<EOF
Cct GPU bundle, linux-x64, self-contained (no .NET needed)
commit: $commit${dirty:+ (with uncommitted changes)}
built:  $(date -u +%Y-%m-%dT%H:%M:%SZ)

  ./cct devices
  ./cct check --accelerator cuda
  ./cct train --model cct-7/3x1 --epochs 30 --data FASHION_MNIST_DIR --out runs/cct7
  tests/Cct.Tests --filter "TestCategory=Gpu"        # the GPU tests; no filter runs the whole suite
  tools/gpu-validate.sh . FASHION_MNIST_DIR OUT_DIR   # everything above, plus the bench pair, in < 8 min

Details: docs/gpu-bundle.md in the repository.
EOF

# Smoke test with no .NET anywhere on PATH: a trimming mistake shows here, not on the GPU machine.
for exe in "$out/cct" "$out/tests/Cct.Tests" "$out/bench/Cct.Bench"; do
    [[ -x $exe ]] || continue
    if ! env -i PATH=/usr/bin:/bin HOME=/tmp "$exe" --help >/dev/null 2>&1; then
        fail "$exe --help failed under env -i; the trimmed publish is broken"
    fi
done

echo "packing $tarball"
tar -C "$(dirname "$out")" --transform "s,^$(basename "$out"),cct-bundle," -cf - "$(basename "$out")" | xz -9 -T2 >"$tarball"

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
bundle_bytes=$(du -sb "$out" | cut -f1)
tar_bytes=$(stat -c %s "$tarball")
echo "bundle: $out, $(mib "$bundle_bytes") MiB"
for app in "$out" "$out/tests" "$out/bench"; do
    [[ -d $app ]] || continue
    if [[ $app == "$out" ]]; then
        own=$(find "$app" -maxdepth 1 -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
        echo "  cct:   $(mib "$own") MiB"
    else
        echo "  $(basename "$app"): $(mib "$(du -sb "$app" | cut -f1)") MiB"
    fi
done
echo "tarball: $tarball, $(mib "$tar_bytes") MiB"
