#!/usr/bin/env bash
# Packs Cct.Gpu, Cct.Training and the cct tool (Cct.Cli) into artifacts/packages, then proves them as a user
# would take them: samples/QuickStart restores the libraries from that local feed (samples/nuget.config), builds
# and runs (trains cct-tiny on the CPU accelerator, saves, loads, predicts); and the tool package installs into
# a temporary --tool-path, where `cct --help` and `cct summary --model cct-tiny` must run.
# Exits non-zero on the first failure. CI (.ci/run) runs it after the tests.
#
# usage: tools/run-quickstart.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
feed=$repo/artifacts/packages
sample=$repo/samples/QuickStart
version=0.1.0
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

step() { echo "== run-quickstart: $*"; }
fail() { echo "run-quickstart.sh: $*" >&2; exit 1; }
command -v dotnet >/dev/null || fail "dotnet (the .NET 10 SDK) is not on PATH"

start=$SECONDS
step "pack Cct.sln -> $feed"
# Only this run's packages in the feed: an older version left there could satisfy a later sample by accident.
rm -rf "$feed"
dotnet pack "$repo/Cct.sln" -c Release -o "$feed" --nologo -v quiet
for id in Cct.Gpu Cct.Training Cct.Cli; do
    [[ -f $feed/$id.$version.nupkg ]] || fail "dotnet pack made no $id.$version.nupkg"
done
extra=$(find "$feed" -name '*.nupkg' ! -name 'Cct.Gpu.*' ! -name 'Cct.Training.*' ! -name 'Cct.Cli.*' -printf '%f ')
[[ -z $extra ]] || fail "packages that should not be packable: $extra"

step "restore samples/QuickStart from the local feed (packages in $sample/obj/packages)"
dotnet restore "$sample" --nologo -v quiet
# The sample's own packages folder holds exactly the feed's Cct packages (not a stale unpack, not another source's).
for id in Cct.Gpu Cct.Training; do
    lower=${id,,}
    unpacked=$sample/obj/packages/$lower/$version/$lower.$version.nupkg.sha512
    [[ -f $unpacked ]] || fail "$id $version was not restored into $sample/obj/packages"
    # NuGet stores the base64 of the .nupkg's SHA-512 beside what it unpacked.
    stored=$(base64 -d <"$unpacked" | od -An -tx1 | tr -d ' \n')
    fresh=$(sha512sum "$feed/$id.$version.nupkg" | cut -d' ' -f1)
    [[ $stored == "$fresh" ]] || fail "$id $version in $sample/obj/packages is not the .nupkg just packed (stale unpack?)"
done

step "build and run samples/QuickStart"
dotnet build "$sample" -c Release --no-restore --nologo -v quiet
dotnet run --project "$sample" -c Release --no-build

step "install the cct tool (Cct.Cli $version) from the local feed into a temporary --tool-path"
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
dotnet tool install Cct.Cli --version "$version" --tool-path "$tools" --add-source "$feed" >/dev/null
"$tools/cct" --help >/dev/null || fail "the installed tool's cct --help failed"
"$tools/cct" summary --model cct-tiny || fail "the installed tool's cct summary --model cct-tiny failed"

step "ok in $((SECONDS - start)) s"
