#!/usr/bin/env bash
# The main job: set up, build, then read PBMC 3k (Cell Ranger 1.1 output) into
# out/pbmc3k.h5ad and print its summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
mkdir -p out
build/scanpp convert ../shared/data/pbmc3k/filtered_gene_bc_matrices/hg19 out/pbmc3k.h5ad --compression gzip
build/scanpp info out/pbmc3k.h5ad
