#!/usr/bin/env bash
# CSV ingest throughput: twotower's parallel CSV reader against pyarrow's, on the same file
# (bench_scale's generator: user_id,item_id,timestamp), the same thread count, in the same run,
# taking turns three times. pyarrow comes from PyPI into a venv made here (benchmark only).
#
#   bench/ingest.sh [ROWS] [THREADS]        (defaults: 5000000 rows, all cores)
#
# BUILD=build/release, DIR=/var/tmp/scale (the CSV is removed at the end).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build/release}
dir=${DIR:-/var/tmp/scale}
rows=${1:-5000000}
threads=${2:-$(nproc)}
venv=$build/ingest-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check pyarrow
fi
csv=$("$build/bench/bench_scale" --generate "$rows" --dir "$dir")
trap 'rm -f "$csv" "$dir/items.csv"' EXIT
echo "file: $csv ($(du -h "$csv" | cut -f1)), threads $threads, load: $(cut -d' ' -f1-3 /proc/loadavg)"
best_tt=0
best_pa=0
for rep in 1 2 3; do
  tt=$("$build/bench/bench_scale" --ingest "$csv" --threads "$threads")
  pa=$("$venv/bin/python" "$root/bench/ingest_pyarrow.py" "$csv" "$threads")
  echo "  $tt"
  echo "  $pa"
  best_tt=$(python3 -c "import sys; print(max($best_tt, float('$tt'.split('MB/s=')[1])))")
  best_pa=$(python3 -c "import sys; print(max($best_pa, float('$pa'.split('MB/s=')[1])))")
done
python3 -c "print(f'best MB/s: twotower {$best_tt:.1f}, pyarrow {$best_pa:.1f}; twotower / pyarrow = {$best_tt / $best_pa:.2f}')"
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
