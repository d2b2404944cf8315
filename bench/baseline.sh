#!/usr/bin/env bash
# usage: bench/baseline.sh REVISION [DIR]
# Builds shipshape as it was at REVISION into DIR (default /tmp/shipshape-baseline-REVISION) and prints DIR,
# for `BENCH_BASELINE=DIR npm run bench`: the before and the after of a change, interleaved in one run.
set -euo pipefail
revision="${1:?usage: bench/baseline.sh REVISION [DIR]}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${2:-/tmp/shipshape-baseline-${revision//[^A-Za-z0-9._-]/_}}"
rm -rf "$dir"
mkdir -p "$dir"
git -C "$root" archive "$revision" src migrations package.json tsconfig.json tsconfig.build.json | tar -x -C "$dir"
ln -s "$root/node_modules" "$dir/node_modules"
(cd "$dir" && "$root/node_modules/.bin/tsc" -p tsconfig.build.json >&2)
echo "$dir"
