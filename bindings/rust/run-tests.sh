#!/usr/bin/env bash
# Tests the Rust binding: `cargo test` for the workspace (twotower-sys layout against the C
# header, the twotower API on synthetic data and on MovieLens, the sample's argument parsing),
# then the README's Rust snippet (examples/readme.rs) as written, from a directory laid out
# like the repository root, and samples/rust/query on the model it saved. No third-party crate
# is used, so everything runs with --offline.
#
#   bindings/rust/run-tests.sh
#
# TWOTOWER_BUILD_DIR=DIR  link the libtwotower.a of an existing CMake build (e.g. build/release,
#                         brought up to date first; relative to the repository root) instead of
#                         the one twotower-sys builds with CMake in its OUT_DIR
# TWOTOWER_DATA=DIR       MovieLens 100k (else ../shared/data/ml-100k beside the repository);
#                         required when CI=true
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
start=$(date +%s)

if [ -n "${TWOTOWER_BUILD_DIR:-}" ]; then
  case $TWOTOWER_BUILD_DIR in /*) ;; *) TWOTOWER_BUILD_DIR=$root/$TWOTOWER_BUILD_DIR ;; esac
  export TWOTOWER_BUILD_DIR
fi
data=${TWOTOWER_DATA:-$root/../shared/data/ml-100k}
cargo=(cargo --locked --offline)

echo "== rust binding: cargo test${TWOTOWER_BUILD_DIR:+ (library from $TWOTOWER_BUILD_DIR)}"
(cd "$here" && "${cargo[@]}" test --workspace)

if [ ! -f "$data/u.data" ]; then
  if [ "${CI:-}" = true ]; then
    echo "MovieLens 100k not found at $data (set TWOTOWER_DATA) and CI=true" >&2
    exit 1
  fi
  echo "== skipped the README example and the sample: no MovieLens 100k at $data (set TWOTOWER_DATA)"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The snippet reads samples/... and ../shared/data/ml-100k and writes movielens.tt in the
# current directory: give it a root of its own so that nothing is written into the checkout.
mkdir -p "$tmp/repo" "$tmp/shared/data"
ln -s "$root/samples" "$tmp/repo/samples"
ln -s "$(cd "$data" && pwd)" "$tmp/shared/data/ml-100k"
echo "== README's Rust snippet (examples/readme.rs), from a copy of the repository layout"
(cd "$tmp/repo" && "${cargo[@]}" run --quiet --manifest-path "$here/Cargo.toml" --example readme) | tee "$tmp/readme.out"
grep -q '^top-100 accuracy 0\.' "$tmp/readme.out"
test "$(grep -c '^ *-\?[0-9.]\+  ' "$tmp/readme.out")" -eq 10
test -s "$tmp/repo/movielens.tt"

echo "== samples/rust/query on that model"
query=(cargo run --quiet --locked --offline --manifest-path "$root/samples/rust/query/Cargo.toml" --)
"${query[@]}" "$tmp/repo/movielens.tt" --user 42 --timestamp 879024327 -k 10 | tee "$tmp/query.out"
test "$(grep -c '^ *[0-9]\+  ' "$tmp/query.out")" -eq 10
# Bad input: a clear message and a non-zero status, never a panic.
expect_failure() {
  local want=$1 pattern=$2 status=0
  shift 2
  "${query[@]}" "$@" >/dev/null 2>"$tmp/err" || status=$?
  if [ "$status" -ne "$want" ] || ! grep -q "$pattern" "$tmp/err" || grep -q panicked "$tmp/err"; then
    echo "twotower-query $*: expected status $want and '$pattern', got $status:" >&2
    cat "$tmp/err" >&2
    exit 1
  fi
}
expect_failure 2 "needs a positive integer" "$tmp/repo/movielens.tt" --user 42 -k 0
expect_failure 1 "TT_ERR_IO.*missing.tt" "$tmp/missing.tt" --user 42
expect_failure 1 "'timestamp' needs an integer" "$tmp/repo/movielens.tt" --user 42 --timestamp soon
head -c 1000 "$tmp/repo/movielens.tt" >"$tmp/cut.tt"
expect_failure 1 "TT_ERR_CORRUPT" "$tmp/cut.tt" --user 42
echo "== rust binding: done in $(( $(date +%s) - start )) s"
