#!/usr/bin/env bash
# Issue 4's 100k-cell figures: bench/pipeline_100k.yaml (the tutorial's steps,
# read through Leiden) with 2 threads; per-step time and memory come from the
# run's own table, wall time, CPU time and peak RSS from /usr/bin/time.
# Needs ~4 GiB of free memory and 2 GiB of disk in $TMP. Pass -o OUT.h5ad as
# extra arguments to keep the result.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SCANPP_BIN:-build/scanpp}
TMP=${TMPDIR:-/tmp}/scanpp_bench_pp
mkdir -p "$TMP"
DATA=$TMP/synth100k.h5ad
[ -f "$DATA" ] || "$BIN" datasets synthetic --cells 100000 --genes 20000 -o "$DATA"
YAML=$(mktemp "${TMPDIR:-/tmp}/pipeline_100k.XXXXXX.yaml")
trap 'rm -f "$YAML"' EXIT
sed "s#SYNTHETIC_H5AD#$DATA#" bench/pipeline_100k.yaml > "$YAML"
"$BIN" info "$DATA" | head -3
uptime
OMP_WAIT_POLICY=passive /usr/bin/time -f "%e s wall %U user %S sys %M KiB peak RSS" "$BIN" --threads 2 run "$YAML" "$@"
