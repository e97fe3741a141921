#!/usr/bin/env bash
# Installs the MPI build into a temporary prefix and builds samples/c/train_distributed.c against
# it twice: with CMake (find_package(twotower CONFIG COMPONENTS mpi), twotower::twotower_mpi) and
# with mpicc and pkg-config (twotower-mpi). Runs both on 2 ranks for an epoch.
#   test_install_mpi.sh <build dir> <source dir> <mpirun>
set -euo pipefail
build=$1 src=$2
MPIRUN=$3
source "$(dirname "$0")/mpirun.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
for f in include/twotower/twotower.h include/twotower/twotower_mpi.h lib/libtwotower_mpi.so \
    lib/cmake/twotower/twotowerMpiTargets.cmake lib/pkgconfig/twotower-mpi.pc; do
  test -e "$tmp/prefix/$f" || { echo "not installed: $f"; exit 1; }
done

echo "== find_package(twotower CONFIG COMPONENTS mpi)"
cat >"$tmp/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(mpi_sample C)
find_package(twotower 0.1 CONFIG REQUIRED COMPONENTS mpi)
add_executable(train_distributed $src/samples/c/train_distributed.c)
target_link_libraries(train_distributed PRIVATE twotower::twotower_mpi)
CMAKE
cmake -S "$tmp" -B "$tmp/cmake-build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null

echo "== mpicc with pkg-config twotower-mpi"
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
mpicc -std=c99 -Wall -Wextra -Werror -pedantic "$src/samples/c/train_distributed.c" \
  $(pkg-config --cflags --libs twotower-mpi) -Wl,-rpath,"$tmp/prefix/lib" -o "$tmp/train_distributed-pc"

echo "== run (2 ranks, 1 epoch each)"
spec=$src/samples/movielens/deep-32.json
mpi_run -np 2 "$tmp/cmake-build/train_distributed" "$spec" "$tmp/a.tt" 1
mpi_run -np 2 "$tmp/train_distributed-pc" "$spec" "$tmp/b.tt" 1
test -s "$tmp/a.tt" && test -s "$tmp/b.tt"
echo "MPI install test: 2 builds, 2 runs passed"
