#!/usr/bin/env bash
# Issue 18, "small catalogues without overhead": single-query latency of a 100,000 x 32 float32
# index (k = 100) through every layer — the C API call itself, the Python, Go and Rust bindings —
# and Faiss's IndexFlatIP in the same run, on the same seeded vectors (written once as raw
# float32 files that every layer reads). Each layer is its own process: it builds the index with
# the library defaults, runs WARM untimed queries, then times Q single queries one at a time
# (the search call alone) and prints p50 / p99 and the sum of its top-1 keys (equal sums: the
# same answers). The layers take turns for ROUNDS rounds; the table gives each layer's median
# over the rounds. twotower's layers run at the library's default (all cores), and the C layer
# once more at 1 thread, Faiss's single-query setting in bench/serving.py. Benchmark-only (faiss-cpu from PyPI, never a dependency, never in CI):
#
#   flock /work/coord/bench.lock /work/coord/quiet.sh bench/bindings-latency.sh
#
# TWOTOWER_BUILD_DIR=DIR  the CMake build to use (default build/release; brought up to date)
# TT_BENCH_VENV=DIR       a venv with numpy and faiss-cpu (default build/bench-venv, made if missing)
# N D Q K WARM ROUNDS     sizes (defaults 100000 32 1000 100 100 3), SEED (default 18)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${TWOTOWER_BUILD_DIR:-build/release}
case $build in /*) ;; *) build=$root/$build ;; esac
venv=${TT_BENCH_VENV:-$root/build/bench-venv}
N=${N:-100000} D=${D:-32} Q=${Q:-1000} K=${K:-100} WARM=${WARM:-100} ROUNDS=${ROUNDS:-3} SEED=${SEED:-18}
src=$here/bindings-latency
out=$build/bindings-latency
mkdir -p "$out/pkgconfig"

echo "== building (library, C program, Go and Rust programs)"
cmake --build "$build" --target twotower twotower_shared twotower_cli >/dev/null
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check numpy faiss-cpu
fi
# The static library as the Go binding's users link it (bindings/go/run-tests.sh installs the
# same .pc file; this one names the build tree so that nothing needs installing).
cat >"$out/pkgconfig/twotower.pc" <<PC
Name: twotower
Description: twotower from the build tree $build
Version: 0
Requires: libzstd nettle libxxhash tbb
Cflags: -I$root/include
Libs: $build/libtwotower.a -ldnnl -lgomp -lstdc++ -lm -lpthread
PC
export PKG_CONFIG_PATH=$out/pkgconfig
# shellcheck disable=SC2046
cc -O2 -std=c11 -Wall -Wextra -Werror -o "$out/latency-c" "$src/latency.c" $(pkg-config --cflags --libs twotower)
CGO_ENABLED=1 go -C "$src/go" build -o "$out/latency-go" .
TWOTOWER_BUILD_DIR=$build CARGO_TARGET_DIR=$out/rust-target \
  cargo build --quiet --offline --release --manifest-path "$src/rust/Cargo.toml"

"$venv/bin/python" "$src/latency.py" gen "$out" "$N" "$D" "$Q" "$SEED"
py=("$venv/bin/python" "$src/latency.py")
args=("$out" "$N" "$D" "$Q" "$K" "$WARM")
echo "$("$build/tools/twotower" --version | grep '^ISA')"
echo "faiss-cpu $("$venv/bin/python" -c 'import faiss; print(faiss.__version__)'), $(nproc) cores, $(date -u '+%F %T UTC'), commit $(git -C "$root" rev-parse --short HEAD)"
echo "== $N x $D float32, k = $K, $Q single queries per layer after $WARM warm ones, $ROUNDS rounds"
for round in $(seq "$ROUNDS"); do
  echo "-- round $round"
  "${py[@]}" faiss "${args[@]}"
  "$out/latency-c" "${args[@]}"
  "$out/latency-c" "${args[@]}" 1
  TWOTOWER_LIBRARY=$build/libtwotower.so PYTHONPATH=$root/bindings/python "${py[@]}" python "${args[@]}"
  "$out/latency-go" "${args[@]}"
  "$out/rust-target/release/latency-rust" "${args[@]}"
done | tee "$out/results.txt"

# Medians over the rounds; the ratio is against the faster Faiss setting's median p50.
awk '
  $1 == "RESULT" { n[$2]++; p50[$2, n[$2]] = $3; p99[$2, n[$2]] = $4; sums[$5] = 1
                   if (!($2 in seen)) { seen[$2] = 1; order[++layers] = $2 } }
  function median(a, name, count,   v, i, j, t) {
    for (i = 1; i <= count; i++) v[i] = a[name, i]
    for (i = 1; i <= count; i++) for (j = i + 1; j <= count; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return count % 2 ? v[(count + 1) / 2] : (v[count / 2] + v[count / 2 + 1]) / 2
  }
  END {
    for (l = 1; l <= layers; l++) { name = order[l]; m50[name] = median(p50, name, n[name]); m99[name] = median(p99, name, n[name])
      if (name ~ /^Faiss/ && (best == "" || m50[name] < m50[best])) best = name }
    printf "\n| layer | p50 ms | p99 ms | p50 / Faiss flat p50 |\n|---|---:|---:|---:|\n"
    for (l = 1; l <= layers; l++) { name = order[l]; printf "| %s | %.3f | %.3f | %.2f |\n", name, m50[name], m99[name], m50[name] / m50[best] }
    count = 0; for (s in sums) count++
    printf "\nmedians over the rounds; ratio against %s; top-1 keys %s across layers and rounds\n", best, count == 1 ? "identical" : "DIFFER"
    if (count != 1) exit 1
  }' "$out/results.txt"
