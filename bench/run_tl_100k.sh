#!/usr/bin/env bash
# Issue 5's 100k-cell tl figures: rank_genes_groups t-test and wilcoxon (all
# genes, all clusters, log-normalised), diffmap and t-SNE on 50 PCs, through
# bench/tl_100k.yaml with 2 threads; per-step times from the run's report,
# peak memory from /usr/bin/time. Reuses the 100k synthetic set of
# bench/run_pp_100k.sh (generated here when missing; ~1.7 GB in $TMP).
# RUN_FLAGS is passed to `scanpp run` (e.g. RUN_FLAGS=--in-order).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SCANPP_BIN:-build/scanpp}
TMP=${TMPDIR:-/tmp}/scanpp_bench_pp
OUT=${TMPDIR:-/tmp}/scanpp_bench_tl
mkdir -p "$TMP" "$OUT"
[ -f "$TMP/synth100k.h5ad" ] || "$BIN" datasets synthetic --cells 100000 --genes 20000 -o "$TMP/synth100k.h5ad"
sed "s#SYNTHETIC_H5AD#$TMP/synth100k.h5ad#" bench/tl_100k.yaml > "$OUT/tl_100k.yaml"
uptime
OMP_WAIT_POLICY=passive /usr/bin/time -f "wall %e s, user %U s, sys %S s, peak RSS %M KiB" \
  "$BIN" --threads 2 run ${RUN_FLAGS:-} "$OUT/tl_100k.yaml"
uptime
