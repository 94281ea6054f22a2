#!/usr/bin/env bash
# Runs COMMAND with a CPU OpenCL runtime that ILGPU 1.5.3 accepts (OpenCL >= 2.0 with the generic address space).
#
#   tools/opencl.sh dotnet Cct.Cli/bin/Release/net10.0/cct.dll check --accelerator opencl
#   tools/opencl.sh --provision         # only make the runtime ready (idempotent)
#   tools/opencl.sh --where             # prints "host" or the chroot it would use, then exits
#
# - A host whose own OpenCL driver qualifies (Debian 13: `apt-get install pocl-opencl-icd`; any driver whose
#   clinfo reports OpenCL 2.x, or 3.0 with __opencl_c_generic_address_space) runs COMMAND directly.
# - Otherwise (Debian 12: its PoCL 3.1 and rusticl lack the generic address space) it provisions once a
#   Debian 13 (trixie) root with PoCL 6 in $CCT_OPENCL_ROOT (default /var/cache/cct/opencl-trixie; ~2 min,
#   ~500 MB, Debian's archive only) and runs COMMAND inside it, in a private mount namespace: proc, sys and
#   dev, the host's dotnet root (read-only), the data set, $HOME's NuGet cache and the current directory are
#   bind-mounted at their own paths, and nothing stays mounted after COMMAND ends. Needs root.
# Only those paths are shared with the chroot: keep COMMAND's files under the current directory, or list more
# folders in CCT_OPENCL_BIND (colon-separated). Set CCT_OPENCL_CHROOT=1 to use the chroot even when the host's driver qualifies.
set -euo pipefail

root=${CCT_OPENCL_ROOT:-/var/cache/cct/opencl-trixie}
stamp=$root/.cct-opencl-ready
# What the chroot holds; changing this list re-provisions (the stamp records it).
packages="pocl-opencl-icd ocl-icd-libopencl1 clinfo libicu76 libssl3t64 ca-certificates"

fail() { echo "opencl.sh: $*" >&2; exit 1; }

# True when this host's OpenCL runtime has a device ILGPU keeps.
host_qualifies() {
    [[ ${CCT_OPENCL_CHROOT:-0} != 1 ]] || return 1
    command -v clinfo >/dev/null || return 1
    local info
    info=$(clinfo 2>/dev/null) || return 1
    grep -Eq '^ *Device Version +OpenCL 2\.' <<<"$info" && return 0
    grep -q '__opencl_c_generic_address_space' <<<"$info"
}

mirror() {
    # The mirror apt already uses on this host (deb822 or one-line sources), else Debian's default.
    local uri
    uri=$(grep -hoE '^(URIs: *|deb +)(\[[^]]*\] *)?https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
        | grep -oE 'https?://[^ ]+' | head -n 1 || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

provision() {
    if [[ -f $stamp && $(cat "$stamp") == "$packages" ]]; then
        return 0
    fi
    [[ $(id -u) == 0 ]] || fail "provisioning the OpenCL chroot needs root (or install a qualifying OpenCL driver on the host)"
    if ! command -v debootstrap >/dev/null; then
        echo "opencl.sh: installing debootstrap" >&2
        { apt-get update -qq && apt-get install -y -qq debootstrap; } >/dev/null || fail "could not install debootstrap"
    fi
    local started=$SECONDS url
    url=$(mirror)
    if [[ ! -x $root/usr/bin/apt-get ]]; then
        echo "opencl.sh: debootstrap trixie into $root from $url (~70 s)" >&2
        rm -rf "$root.partial"
        mkdir -p "$(dirname "$root")"
        debootstrap --variant=minbase trixie "$root.partial" "$url" >"$root.debootstrap.log" 2>&1 \
            || fail "debootstrap failed; see $root.debootstrap.log"
        rm -rf "$root"
        mv "$root.partial" "$root"
    fi
    echo "opencl.sh: installing PoCL into the chroot (~35 s)" >&2
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
        "apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages" >"$root.apt.log" 2>&1 \
        || fail "apt-get in the chroot failed; see $root.apt.log"
    echo "$packages" >"$stamp"
    echo "opencl.sh: OpenCL chroot ready in $((SECONDS - started)) s" >&2
}

# Bind-mounts each existing host path at the same path inside the chroot (read-only when asked).
bind() {
    local mode=$1 path=$2
    [[ -e $path ]] || return 0
    mkdir -p "$root$path"
    mount --bind "$path" "$root$path"
    [[ $mode == rw ]] || mount -o remount,bind,ro "$root$path"
}

run_in_chroot() {
    provision
    command -v unshare >/dev/null || fail "unshare (util-linux) is needed to run in the chroot"
    local dotnet_root=""
    if command -v dotnet >/dev/null; then
        dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
    fi
    # Everything below runs in a new mount namespace: the mounts vanish with it.
    export CCT_OPENCL_INNER=1 CCT_OPENCL_ROOT=$root CCT_OPENCL_DOTNET_ROOT=$dotnet_root CCT_OPENCL_CWD=$PWD
    exec unshare --mount --propagation private "${BASH_SOURCE[0]}" "$@"
}

inner() {
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    bind ro "${CCT_OPENCL_DOTNET_ROOT:-}"
    bind ro /usr/share/datasets
    [[ -z ${CCT_DATA:-} ]] || bind ro "$CCT_DATA"
    bind rw "${HOME:-/root}/.nuget"
    bind rw "${HOME:-/root}/.cache/cct"
    bind rw "$CCT_OPENCL_CWD"
    local extra
    IFS=: read -ra extra <<<"${CCT_OPENCL_BIND:-}"
    for path in "${extra[@]}"; do
        [[ -z $path ]] || bind rw "$(readlink -f "$path")"
    done
    # PoCL compiles each kernel once and keeps the binary here: later runs compile nothing.
    mkdir -p "$root/var/cache/pocl"
    local path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    [[ -z ${CCT_OPENCL_DOTNET_ROOT:-} ]] || path=$CCT_OPENCL_DOTNET_ROOT:$path
    exec chroot "$root" /usr/bin/env -C "$CCT_OPENCL_CWD" PATH="$path" \
        DOTNET_ROOT="${CCT_OPENCL_DOTNET_ROOT:-}" OCL_ICD_VENDORS=/etc/OpenCL/vendors/pocl.icd \
        POCL_CACHE_DIR=/var/cache/pocl POCL_KERNEL_CACHE=1 "$@"
}

if [[ ${CCT_OPENCL_INNER:-0} == 1 ]]; then
    unset CCT_OPENCL_INNER
    inner "$@"
fi

case "${1:-}" in
    "") fail "usage: tools/opencl.sh COMMAND [ARG...] | --provision | --where" ;;
    --provision)
        if host_qualifies; then echo "opencl.sh: the host's OpenCL driver qualifies; nothing to provision" >&2; else provision; fi
        exit 0 ;;
    --where)
        if host_qualifies; then echo host; else echo "$root"; fi
        exit 0 ;;
esac

if host_qualifies; then
    exec "$@"
fi
run_in_chroot "$@"
