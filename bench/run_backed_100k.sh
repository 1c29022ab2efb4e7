#!/usr/bin/env bash
# Backed (row-block) preprocessing on the 100k x 20k synthetic matrix: per-step
# time and the process's peak memory, which should stay far below the size of
# the CSR matrix (1.45 GiB) because X is streamed from disk. Reuses the file
# bench/run_pp_100k.sh generates. Run once, on an idle machine if possible.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SCANPP_BIN:-build/scanpp}
TMP=${TMPDIR:-/tmp}/scanpp_bench_pp
mkdir -p "$TMP"
[ -f "$TMP/synth100k.h5ad" ] || "$BIN" datasets synthetic --cells 100000 --genes 20000 -o "$TMP/synth100k.h5ad"
sed "s#SYNTHETIC_H5AD#$TMP/synth100k.h5ad#" bench/backed_100k.yaml > "$TMP/backed_100k.yaml"
"$BIN" info "$TMP/synth100k.h5ad" | head -3
uptime
OMP_WAIT_POLICY=passive /usr/bin/time -f "%e s wall %U user %S sys %M KiB peak RSS" "$BIN" --threads 2 run "$TMP/backed_100k.yaml"
