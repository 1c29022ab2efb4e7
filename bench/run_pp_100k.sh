#!/usr/bin/env bash
# Issue 3's 100k-cell preprocessing figures in BENCHMARKS.md: per-step time and
# memory of bench/pp_100k.yaml with 2 threads, on an otherwise idle machine.
# Needs ~3 GiB of free memory and 1 GiB of disk in $TMP.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SCANPP_BIN:-build/scanpp}
TMP=${TMPDIR:-/tmp}/scanpp_bench_pp
mkdir -p "$TMP"
[ -f "$TMP/synth100k.h5ad" ] || "$BIN" datasets synthetic --cells 100000 --genes 20000 -o "$TMP/synth100k.h5ad"
sed "s#SYNTHETIC_H5AD#$TMP/synth100k.h5ad#" bench/pp_100k.yaml > "$TMP/pp_100k.yaml"
"$BIN" info "$TMP/synth100k.h5ad" | head -3
OMP_WAIT_POLICY=passive /usr/bin/time -f "wall %e s, peak RSS %M KiB" "$BIN" --threads 2 run "$TMP/pp_100k.yaml"
