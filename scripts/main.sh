#!/usr/bin/env bash
# The main job: set up, build, then run the classic PBMC 3k analysis
# (examples/pbmc3k.yaml: QC, filtering, normalisation, HVG, regression,
# scaling, PCA, neighbours, UMAP, Leiden) into out/pbmc3k.h5ad and print its summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
mkdir -p out
build/scanpp run examples/pbmc3k.yaml
build/scanpp info out/pbmc3k.h5ad
