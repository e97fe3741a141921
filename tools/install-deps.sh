#!/usr/bin/env bash
# Installs everything twotower needs to build and test on Debian 12, starting from a minimal
# system (mmdebstrap --variant=minbase: no Python, no compiler). Safe to run again: it only
# installs what is missing. With --mpi also Open MPI, for the optional MPI component; with
# --abi abigail-tools, for the ABI check.
# Checked in CI by ../shared/tools/fresh-debian-check.sh (.ci/run).
set -euo pipefail

debs=(build-essential cmake ninja-build pkg-config
      libdnnl-dev libtbb-dev doctest-dev libzstd-dev
      ocl-icd-opencl-dev           # Debian's dnnl-config.cmake finds OpenCL; libdnnl-dev only recommends it
      nlohmann-json3-dev libcli11-dev libxxhash-dev nettle-dev
      clang-14 libclang-rt-14-dev  # clang: the libFuzzer target (tests/fuzz)
      libfaiss-dev                 # the peer in bench/bench_faiss (only that benchmark links it)
      libopenblas0-openmp)         # Faiss's BLAS: Debian's default reference BLAS would handicap it

# Optional extras, as flags (any order): --mpi Open MPI for the MPI component
# (-DTWOTOWER_WITH_MPI=ON, docs/distributed.md); --abi abigail-tools for tools/check-abi.sh
# (the C ABI against the committed baseline, docs/c-api.md).
for flag in "$@"; do
  case $flag in
    --mpi) debs+=(libopenmpi-dev openmpi-bin) ;;
    --abi) debs+=(abigail-tools) ;;
    *) echo "install-deps.sh: unknown flag $flag (known: --mpi, --abi)" >&2; exit 2 ;;
  esac
done

# Python 3 runs the result plot (tools/plot-results.py) and the Python binding's tests. A minimal
# Debian has none: take Debian's interpreter and modules (pip into Debian's own Python is refused
# by PEP 668). A Python found on PATH that is not Debian's gets the modules from PyPI below.
py=${PYTHON:-python3}
debian_python=0
if ! command -v "$py" >/dev/null 2>&1 || [ "$(command -v "$py")" = /usr/bin/python3 ]; then
  debian_python=1
  py=/usr/bin/python3
  debs+=(python3 python3-venv python3-pip python3-numpy python3-matplotlib python3-pytest)
fi

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

if [ "$debian_python" = 0 ] && ! "$py" -c "import numpy, matplotlib, pytest" 2>/dev/null; then
  "$py" -m pip install --quiet numpy matplotlib pytest
fi
