#!/usr/bin/env bash
# Installs the Python binding into a fresh virtual environment, runs its pytest suite, then the
# deep-retrieval sample for 2 epochs with a plot. Exits non-zero on any failure (pytest's exit
# code 5, "no tests ran", included).
#
#   bindings/python/run-tests.sh
#
# TWOTOWER_BUILD_DIR=DIR  bundle the libtwotower.so of an existing CMake build (e.g. build/release,
#                         brought up to date first) instead of building one in bindings/python/build/
# PYTHON=python3.X        the interpreter for the venv
# TWOTOWER_DATA=DIR       MovieLens 100k (else ../shared/data/ml-100k beside the repository)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${PYTHON:-python3}
start=$(date +%s)

if [ -n "${TWOTOWER_BUILD_DIR:-}" ]; then
  case $TWOTOWER_BUILD_DIR in /*) ;; *) TWOTOWER_BUILD_DIR=$root/$TWOTOWER_BUILD_DIR ;; esac
  export TWOTOWER_BUILD_DIR
fi
unset TWOTOWER_LIBRARY  # test the library bundled in the installed package

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "== python binding: venv in $tmp"
"$py" -m venv "$tmp/venv"
pip=("$tmp/venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet numpy pytest matplotlib
echo "== pip install bindings/python${TWOTOWER_BUILD_DIR:+ (library from $TWOTOWER_BUILD_DIR)}"
"${pip[@]}" install --quiet "$root/bindings/python"

# From outside the source tree, so that `import twotower` is the installed package.
cd "$tmp"
echo "== pytest bindings/python/tests"
status=0
"$tmp/venv/bin/python" -m pytest -p no:cacheprovider -q -rs "$here/tests" || status=$?
if [ "$status" -ne 0 ]; then
  [ "$status" -eq 5 ] && echo "pytest collected no tests" >&2
  exit "$status"
fi

echo "== samples/python/deep_retrieval.py --epochs 2"
"$tmp/venv/bin/python" "$root/samples/python/deep_retrieval.py" --epochs 2 --plot "$tmp/deep-retrieval.png"
test -s "$tmp/deep-retrieval.png"
echo "== python binding: done in $(( $(date +%s) - start )) s"
