#!/usr/bin/env bash
# The I/O and end-to-end figures in BENCHMARKS.md. Run after scripts/build.sh,
# on an otherwise idle machine. Needs ~4 GiB of free memory and disk in $TMP.
set -euo pipefail
cd "$(dirname "$0")/.."
TMP=${TMPDIR:-/tmp}/scanpp_bench
mkdir -p "$TMP" out
PBMC=../shared/data/pbmc3k/filtered_gene_bc_matrices/hg19
echo "== read_10x_mtx PBMC 3k (median of 10)"
build/bench/bench_read_10x_mtx "$PBMC" 10
echo "== examples/pbmc3k.yaml, process start to written h5ad"
/usr/bin/time -f "wall %e s, peak RSS %M KiB" build/scanpp run -q examples/pbmc3k.yaml
echo "== synthetic 100k x 20k written block by block"
/usr/bin/time -f "wall %e s, peak RSS %M KiB" build/scanpp datasets synthetic --cells 100000 --genes 20000 -o "$TMP/synth100k.h5ad"
echo "== golden PBMC 3k h5ad (h5py gzip 4) read, and written with gzip 4 (sc.write's compression='gzip'), best of 5"
build/bench/bench_h5ad_io rewrite ../shared/golden/pbmc3k/pbmc3k_scanpy.h5ad "$TMP/pbmc_gz.h5ad" 4 5
echo "== h5ad write / read of a 100k x 20k CSR (~200M non-zeros)"
build/bench/bench_h5ad_io write "$TMP/io.h5ad" 100000 20000 2000 -1
build/bench/bench_h5ad_io read "$TMP/io.h5ad"
build/bench/bench_h5ad_io backed "$TMP/io.h5ad" 10000
/usr/bin/time -f "wall %e s, %U s user, %S s sys, peak RSS %M KiB" build/bench/bench_h5ad_io write "$TMP/io_gz.h5ad" 100000 20000 2000 1
/usr/bin/time -f "wall %e s, %U s user, %S s sys, peak RSS %M KiB" build/bench/bench_h5ad_io read "$TMP/io_gz.h5ad"
rm -rf "$TMP"
