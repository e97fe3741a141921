#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + libFuzzer, the library instrumented
# too), writes their seed corpora and fuzzes each target for its share of a total budget.
# Fails on any finding (crash, sanitizer report, leak, timeout, out-of-memory, a broken check
# in the target) and prints how to reproduce it.
#   tests/fuzz/run-fuzzer.sh [SECONDS] [TARGET...]   SECONDS in total (default 60), shared
#                                                    equally by the targets (default: all)
#   tests/fuzz/run-fuzzer.sh --list                  the targets (tests/fuzz/CMakeLists.txt)
# Environment: FUZZ_BUILD_DIR (default build/fuzz), FUZZ_JOBS (parallel fuzzing jobs per
# target, default 1), FUZZ_BUILD_JOBS (compile jobs, default 2), CC/CXX (default clang-14).
# Each target keeps what it learns in $FUZZ_BUILD_DIR/fuzz-corpus/TARGET (reused by the next run)
# and writes findings to $FUZZ_BUILD_DIR/fuzz-artifacts/TARGET/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build/fuzz}"
export CC="${CC:-clang-14}" CXX="${CXX:-clang++-14}"

if [[ "${1:-}" == "--list" ]]; then
  sed -n 's/^set(TT_FUZZ_TARGETS \(.*\))$/\1/p' "$root/tests/fuzz/CMakeLists.txt" | tr ' ' '\n'
  exit 0
fi
seconds="${1:-60}"
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "run-fuzzer.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2; }
shift || true

# Runs of the script may share the build directory (two targets fuzzed side by side): configuring,
# building and writing seeds take turns; fuzzing does not need the lock.
mkdir -p "$build"
exec 9>"$build/.run-fuzzer.lock"
flock 9

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

mapfile -t all < "$build/fuzz-targets.txt"
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "run-fuzzer.sh: no fuzz target '$t' (targets: ${all[*]})" >&2; exit 2; }
done
share=$(( seconds / ${#targets[@]} ))
(( share >= 1 )) || { echo "run-fuzzer.sh: $seconds s is less than a second per target" >&2; exit 2; }
cmake --build "$build" -j "${FUZZ_BUILD_JOBS:-2}" --target tt_make_fuzz_corpus "${targets[@]/#/fuzz_}"

seeds="$build/fuzz-seeds"
for t in "${targets[@]}"; do rm -rf "${seeds:?}/$t"; done
# The corpus tool is instrumented too; leaks in it are not the parsers', so do not fail on them.
ASAN_OPTIONS=detect_leaks=0 "$build/tests/fuzz/tt_make_fuzz_corpus" "$seeds" "${targets[@]}"
flock -u 9

failed=()
for t in "${targets[@]}"; do
  [[ -n "$(ls -A "$seeds/$t" 2>/dev/null)" ]] || { echo "run-fuzzer.sh: no seeds for '$t'" >&2; exit 1; }
  corpus="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  max_len=$(( $(find "$seeds/$t" -type f -printf '%s\n' | sort -n | tail -1) + 4096 ))
  dict=()
  [[ -f "$root/tests/fuzz/$t.dict" ]] && dict=(-dict="$root/tests/fuzz/$t.dict")
  echo "== fuzz_$t for ${share}s (of ${seconds}s for ${#targets[@]} targets), max_len $max_len"
  # What libFuzzer saves on a finding (with FUZZ_JOBS its logs, fuzz-N.log, land here too).
  findings() { find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort; }
  findings >"$artifacts.before"
  # -timeout makes a hang a finding; -rss_limit_mb / -malloc_limit_mb make runaway memory and any
  # single allocation above 1 GiB findings (a size field must be checked before allocating).
  status=0
  (cd "$artifacts" && "$build/tests/fuzz/fuzz_$t" "$corpus" "$seeds/$t" "${dict[@]}" \
    -max_total_time="$share" -max_len="$max_len" -timeout=10 \
    -rss_limit_mb=3072 -malloc_limit_mb=1024 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 \
    ${FUZZ_JOBS:+-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS}) || status=$?
  new_artifacts=$(findings | comm -13 "$artifacts.before" -)
  if (( status == 0 )) && [[ -z "$new_artifacts" ]]; then
    echo "fuzz_$t: no findings in ${share}s"
    continue
  fi
  failed+=("$t")
  echo "fuzz_$t: FINDING (exit status $status)"
  for a in $new_artifacts; do
    echo "  input: $a ($(stat -c %s "$a") bytes)"
    echo "  reproduce: $build/tests/fuzz/fuzz_$t $a"
    echo "  the input in base64 (from a CI log: base64 -d > input), first 64 KiB:"
    base64 "$a" | head -c 65536 | sed 's/^/    /'
    echo
  done
done

if (( ${#failed[@]} > 0 )); then
  echo "run-fuzzer.sh: findings in: ${failed[*]}" >&2
  echo "Fix the parser (a tt::Error naming the file and field, never a crash) and add the input as a" >&2
  echo "regression test in tests/unit/ (docs/fuzzing.md)." >&2
  exit 1
fi
echo "run-fuzzer.sh: no findings (${#targets[@]} targets, ${share}s each)"
