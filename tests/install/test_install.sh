#!/usr/bin/env bash
# Installs twotower into a temporary prefix and builds samples/c/quickstart.c against it twice:
# with CMake's find_package and with pkg-config. Then runs one build for a few epochs.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/twotower/twotower.h"
test -f "$tmp/prefix/lib/libtwotower.a"
test -f "$tmp/prefix/lib/cmake/twotower/twotowerConfig.cmake"
test -f "$tmp/prefix/lib/pkgconfig/twotower.pc"

echo "== find_package(twotower CONFIG)"
cmake -S "$src/samples/c" -B "$tmp/cmake-build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_C_FLAGS="-DQUICKSTART_SPEC=\\\"$src/samples/movielens/deep-32.json\\\"" >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
test -x "$tmp/cmake-build/quickstart"

echo "== pkg-config --static"
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
cc -std=c99 -Wall -Wextra -Werror -pedantic "$src/samples/c/quickstart.c" \
  -DQUICKSTART_SPEC="\"$src/samples/movielens/deep-32.json\"" \
  $(pkg-config --cflags --libs twotower) -o "$tmp/quickstart-pc"

echo "== run (3 epochs)"
data=${TWOTOWER_DATA:-$src/../shared/data/ml-100k}
cd "$tmp"
"$tmp/cmake-build/quickstart" --data "$data" --epochs 3 --out "$tmp/model.tt"
test -s "$tmp/model.tt"
"$tmp/quickstart-pc" --data "$data" --epochs 1 --out "$tmp/model2.tt" >/dev/null
echo "install test: 2 builds, 2 runs passed"
