#!/usr/bin/env bash
# Data-parallel training on this machine with 1 and 2 ranks (one thread each), beside one
# process training the same global batches: bench/distributed.sh [build dir] [epochs]
# Needs the MPI component: cmake --preset mpi && cmake --build --preset mpi --target bench_distributed
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build/mpi}
epochs=${2:-3}
MPIRUN=${MPIRUN:-mpirun}
source "$here/../tests/dist/mpirun.sh"
uptime
for n in 1 2; do
  mpi_run -np "$n" "$build/bench/bench_distributed" --epochs "$epochs"
done
