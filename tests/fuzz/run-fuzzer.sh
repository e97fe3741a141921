#!/usr/bin/env bash
# Builds fuzz_model_loader with clang (ASan + UBSan + libFuzzer, the library instrumented too),
# writes a seed corpus of real model files and fuzzes the loader for N seconds (default 60).
# Fails on any finding (crash, leak, sanitizer report, timeout, out-of-memory).
#   tests/fuzz/run-fuzzer.sh [seconds]
# Environment: FUZZ_BUILD_DIR (default build/fuzz), FUZZ_JOBS (parallel fuzzing jobs, default 1),
# CC/CXX (default clang-14/clang++-14).
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build/fuzz}"
export CC="${CC:-clang-14}" CXX="${CXX:-clang++-14}"

# clang links GCC's OpenMP runtime (libgomp), which the rest of the stack (oneDNN) uses; only
# omp.h is borrowed from GCC's headers, through a directory holding nothing else, minus the
# GCC-only attribute syntax clang rejects (__malloc__ (deallocator)).
gomp="$(g++ -print-file-name=libgomp.so)"
omp_h="$(g++ -print-file-name=include/omp.h)"
[[ -f "$omp_h" ]] || { echo "run-fuzzer.sh: GCC's omp.h not found" >&2; exit 1; }
mkdir -p "$build/omp-include"
sed -E 's/__malloc__ \(omp_free\),? ?//g' "$omp_h" >"$build/omp-include/omp.h.new"
cmp -s "$build/omp-include/omp.h.new" "$build/omp-include/omp.h" 2>/dev/null \
  && rm "$build/omp-include/omp.h.new" || mv -f "$build/omp-include/omp.h.new" "$build/omp-include/omp.h"
omp_flags="-fopenmp=libgomp -I$build/omp-include"

san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="$san -fsanitize=fuzzer-no-link" \
  -DCMAKE_CXX_FLAGS="$san -fsanitize=fuzzer-no-link" \
  -DCMAKE_EXE_LINKER_FLAGS="$san" \
  -DOpenMP_C_FLAGS="$omp_flags" -DOpenMP_CXX_FLAGS="$omp_flags" \
  -DOpenMP_C_LIB_NAMES=gomp -DOpenMP_CXX_LIB_NAMES=gomp -DOpenMP_gomp_LIBRARY="$gomp" \
  -DTWOTOWER_FUZZ=ON -DTWOTOWER_WERROR=OFF -DTWOTOWER_BUILD_TESTS=ON \
  -DTWOTOWER_BUILD_TOOLS=OFF -DTWOTOWER_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target fuzz_model_loader tt_make_fuzz_corpus

seeds="$build/fuzz-seeds"
corpus="$build/fuzz-corpus"
artifacts="$build/fuzz-artifacts"
rm -rf "$seeds"
mkdir -p "$corpus" "$artifacts"
# The corpus tool is instrumented too; leaks in it are not the loader's, so do not fail on them.
ASAN_OPTIONS=detect_leaks=0 "$build/tests/tt_make_fuzz_corpus" "$seeds"

max_len=$(( $(find "$seeds" -type f -printf '%s\n' | sort -n | tail -1) + 4096 ))
echo "fuzzing for ${seconds}s, max_len $max_len"
# -rss_limit_mb / -malloc_limit_mb make any single allocation above 1 GiB a finding.
cd "$artifacts"
"$build/tests/fuzz_model_loader" "$corpus" "$seeds" \
  -max_total_time="$seconds" -max_len="$max_len" -timeout=20 \
  -rss_limit_mb=3072 -malloc_limit_mb=1024 \
  -artifact_prefix="$artifacts/" -print_final_stats=1 \
  ${FUZZ_JOBS:+-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS}
echo "fuzz_model_loader: no findings in ${seconds}s"
