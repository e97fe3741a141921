#!/usr/bin/env bash
# Reproduces the TFRS deep-retrieval table on MovieLens 100k: trains [32], [64, 32] and
# [128, 64, 32] for the specs' 300 epochs, writes per-epoch histories, prints the table and
# plots top-100 accuracy against epoch.
# Usage: tools/reproduce-reference.sh [--data DIR] [--epochs N] [--out DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${TWOTOWER_BIN:-$root/build/release/tools/twotower}
out=$root/docs/results
extra=()
while (($#)); do
  case $1 in
    --out) out=$2; shift 2 ;;
    --data|--epochs|--threads) extra+=("$1" "$2"); shift 2 ;;
    *) echo "usage: $0 [--data DIR] [--epochs N] [--threads T] [--out DIR]" >&2; exit 2 ;;
  esac
done
[ -x "$bin" ] || { echo "build first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }
mkdir -p "$out"
csvs=()
for cfg in deep-32 deep-64-32 deep-128-64-32; do
  echo "== $cfg"
  "$bin" train --spec "$root/samples/movielens/$cfg.json" --history "$out/$cfg.csv" "${extra[@]}"
  csvs+=("$out/$cfg.csv")
done
python3 "$root/tools/plot-results.py" --png "$out/top100-vs-epoch.png" "${csvs[@]}"
