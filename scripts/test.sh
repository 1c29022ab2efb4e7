#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (GoogleTest through ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
# Two test programs run at once on two cores: OpenMP threads must sleep, not
# spin, while they wait, or the programs slow each other down tenfold.
export OMP_WAIT_POLICY=passive
ctest --test-dir build --output-on-failure -j2 --timeout 600
