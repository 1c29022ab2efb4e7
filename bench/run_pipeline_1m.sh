#!/usr/bin/env bash
# Issue 4's 1M-cell figures: bench/pipeline_1m.yaml with 2 threads; per-step
# time and memory from the run's own table, wall/CPU time and peak RSS from
# /usr/bin/time. Needs ~16 GiB of free memory and 12 GiB of disk in $TMP;
# generating the data (`scanpp datasets synthetic`) takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${SCANPP_BUILD:-build}
BIN=$BUILD/scanpp
TMP=${TMPDIR:-/tmp}/scanpp_bench_pp
mkdir -p "$TMP"
DATA=$TMP/synth1m_u1000.h5ad
if [ ! -f "$DATA" ]; then
  /usr/bin/time -f "generate: %e s wall %U user %S sys %M KiB peak RSS" \
    "$BIN" datasets synthetic --cells 1000000 --genes 20000 --mean-umis 1000 -o "$DATA"
fi
YAML=$(mktemp "${TMPDIR:-/tmp}/pipeline_1m.XXXXXX.yaml")
trap 'rm -f "$YAML"' EXIT
sed "s#SYNTHETIC_H5AD#$DATA#" bench/pipeline_1m.yaml > "$YAML"
"$BIN" info "$DATA" | head -3
uptime
free -g | head -2
OMP_WAIT_POLICY=passive /usr/bin/time -f "%e s wall %U user %S sys %M KiB peak RSS" "$BIN" --threads 2 run "$YAML" "$@"
