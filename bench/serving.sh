#!/usr/bin/env bash
# The serving benchmark of issue 18: twotower against Faiss, ScaNN and USearch from PyPI, in one
# process (bench/serving.py). Builds the twotower shim in build/release, makes a venv of its own
# (benchmark-only: never a dependency of the library, never run in CI) and passes its arguments
# on to serving.py, e.g.
#
#   bench/serving.sh                                  # the whole grid (takes an hour or more)
#   bench/serving.sh --sets uniform --sizes 1000000 --dims 64
#   bench/serving.sh --sizes 100000 --dims 32 --systems twotower,faiss
#
# TT_BENCH_VENV=DIR  the venv (default build/bench-venv), reused when it exists.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${TT_BENCH_VENV:-$root/build/bench-venv}
cmake --build "$root/build/release" --target tt_bench_serving >/dev/null
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check numpy faiss-cpu scann usearch
fi
exec "$venv/bin/python" "$root/bench/serving.py" --lib "$root/build/release/bench/libtt_bench_serving.so" "$@"
