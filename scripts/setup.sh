#!/usr/bin/env bash
# Installs scanpp's build and test dependencies from Debian's packages.
# Idempotent: installs only what is missing, quietly.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config
  libhdf5-dev hdf5-tools zlib1g-dev libdeflate-dev
  libeigen3-dev libopenblas-dev liblapack-dev libspectra-dev
  libigraph-dev libarpack2-dev libglpk-dev libplfit-dev libhnswlib-dev libfftw3-dev libcairo2-dev fonts-dejavu-core
  libcli11-dev nlohmann-json3-dev libfmt-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-numpy python3-scipy python3-h5py python3-anndata python3-pandas python3-loompy
  poppler-utils python3-pil
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
