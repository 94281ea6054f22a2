#!/usr/bin/env bash
# What an H100 would run, with no GPU: compiles every kernel to sm_90 PTX, assembles it with NVIDIA's ptxas,
# disassembles it with cuobjdump, and writes the table (registers, spills, shared memory, occupancy, the
# GEMM's K-loop instruction mix, the tensor-core kernels' HMMA and local memory) into docs/gpu-kernels.md.
# Fails on a spill, on fp64, when a GEMM's FFMA share falls below its ratchet, or when a tensor-core kernel
# (inline PTX, [TensorCoreKernels]) has no HMMA, any LDL/STL, a stack frame or .local in its PTX.
#
# ptxas and cuobjdump come from Debian's nvidia-cuda-toolkit 11.8 (component non-free, ~84 MB); only the
# package itself is downloaded and unpacked into a cache, through a private apt configuration, so the
# system's apt sources are left as they are and the toolkit's 1.5 GB of dependencies are skipped (the two
# binaries need only libc).
#
# usage: tools/ptx-report.sh [OUT_DIR]      (default artifacts/ptx; the .ptx/.cubin/.sass files go there)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-artifacts/ptx}

# Ratchets (raise them when the kernels improve): the best GEMM K loop (dense operands, 128x128 tile: 78.5-79.1 %
# FFMA on 2026-11-30) and every GEMM instantiation (the convolution gathers and attention's dropout: 35.3 %).
min_ffma_share=0.78
min_ffma_share_every=0.35
# Fused attention's inner product loops (FlashAttention: score dot products, P·V, dk/dv): 53.3-61.5 % FFMA on
# 2026-12-07, once each pass's shared reads took constant offsets from one address (38-46 % before).
min_fused_ffma_share=0.50

cache=${CCT_CUDA_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/cct/cuda-tools}
bin="$cache/x/usr/bin"
if [ ! -x "$bin/ptxas" ] || [ ! -x "$bin/cuobjdump" ]; then
  echo "ptx-report: fetching ptxas and cuobjdump (Debian nvidia-cuda-toolkit, non-free) into $cache"
  apt="$cache/apt"
  mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/sources.list.d" "$apt/preferences.d"
  # Debian's own sources, with non-free added, in a private copy.
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] && sed -E 's/^(Components:.*\bmain\b)(.*)$/\1\2 non-free/; s/(non-free)( non-free)+/\1/' "$f" > "$apt/sources.list.d/$(basename "$f")"
  done
  [ -e /etc/apt/sources.list ] && sed -E '/^deb /s/\bmain\b/main non-free/' /etc/apt/sources.list > "$apt/sources.list" || : > "$apt/sources.list"
  opts=(-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache::Archives=$apt/archives" -o "Dir::Etc::SourceList=$apt/sources.list"
        -o "Dir::Etc::SourceParts=$apt/sources.list.d" -o "Dir::Etc::PreferencesParts=$apt/preferences.d" -o "Debug::NoLocking=1"
        -o "APT::Sandbox::User=root" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
  apt-get -qq "${opts[@]}" update
  (cd "$cache" && apt-get -qq "${opts[@]}" download nvidia-cuda-toolkit)
  dpkg-deb -x "$cache"/nvidia-cuda-toolkit_*.deb "$cache/x"
  rm -f "$cache"/nvidia-cuda-toolkit_*.deb
fi
"$bin/ptxas" --version | tail -n 1

dotnet run -c Release --project Cct.Bench -- ptx --ptxas "$bin/ptxas" --cuobjdump "$bin/cuobjdump" --out "$out" \
  --doc docs/gpu-kernels.md --check --min-ffma-share "$min_ffma_share" --min-ffma-share-every "$min_ffma_share_every" \
  --min-fused-ffma-share "$min_fused_ffma_share"
