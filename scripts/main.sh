#!/usr/bin/env bash
# The main job: set up, build, then run the classic PBMC 3k analysis
# (examples/pbmc3k.yaml: QC, filtering, normalisation, HVG, regression,
# scaling, PCA, neighbours, UMAP, Leiden, marker genes, PAGA, t-SNE,
# ForceAtlas2) into out/pbmc3k.h5ad, with the tutorial's figures in
# out/figures/, and print its summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
mkdir -p out
build/scanpp run examples/pbmc3k.yaml
build/scanpp info out/pbmc3k.h5ad
ls out/figures
