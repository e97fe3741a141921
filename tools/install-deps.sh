#!/usr/bin/env bash
# Installs everything twotower needs to build and test on Debian 12. Safe to run again: it only
# installs what is missing.
set -euo pipefail

debs=(build-essential cmake ninja-build pkg-config
      libdnnl-dev libtbb-dev libeigen3-dev doctest-dev libzstd-dev
      nlohmann-json3-dev libcli11-dev libxxhash-dev nettle-dev
      clang-14 libclang-rt-14-dev  # clang: the libFuzzer target (tests/fuzz)
      libfaiss-dev                 # the peer in bench/bench_faiss (only that benchmark links it)
      libopenblas0-openmp)         # Faiss's BLAS: Debian's default reference BLAS would handicap it

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python tools for the plot script and the Python binding's tests.
py=${PYTHON:-python3}
if ! "$py" -c "import numpy, matplotlib, pytest" 2>/dev/null; then
  "$py" -m pip install --quiet numpy matplotlib pytest
fi
