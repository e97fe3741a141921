#!/usr/bin/env bash
# Training against the peers (issue 14): twotower, a PyTorch implementation of the TFRS deep
# retrieval tutorial and the real TFRS, [32] on MovieLens 100k, 10 epochs with evaluation every 5
# (bench/peers_training.py). Builds the twotower CLI in build/release, makes a venv of its own with
# torch (CPU use only), tensorflow-cpu, tf-keras and tensorflow-recommenders from PyPI (benchmark-
# only: never a dependency of the library, never run in CI) and passes its arguments on, e.g.
#
#   bench/peers-training.sh                          # 10 epochs, evaluation every 5
#   bench/peers-training.sh --epochs 20 --systems twotower,pytorch
#
# TT_BENCH_PEERS_VENV=DIR  the venv (default build/peers-venv), reused when it exists.
# TWOTOWER_DATA=DIR        MovieLens 100k (default ../shared/data/ml-100k).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${TT_BENCH_PEERS_VENV:-$root/build/peers-venv}
cmake --build "$root/build/release" --target twotower_cli >/dev/null
cli=$root/build/release/tools/twotower
if ! "$venv/bin/python" -c 'import torch, tensorflow_recommenders, tf_keras' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check numpy tensorflow-cpu tf-keras \
    tensorflow-recommenders torch
fi
export TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=2
exec "$venv/bin/python" "$root/bench/peers_training.py" --twotower "$cli" --root "$root" "$@"
