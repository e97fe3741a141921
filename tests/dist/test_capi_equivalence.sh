#!/usr/bin/env bash
# The C entry point (twotower_mpi.h) under mpirun -np 2 trains the model one process trains over
# the same global batches (twotower train --order-ranks 2), as mpi.equivalence checks for the
# CLI, with fewer epochs: weights within 1e-3 of the largest weight, top-100 within 0.002.
#   test_capi_equivalence.sh <test_capi_mpi> <twotower> <compare_models> <source dir> <mpirun>
set -euo pipefail
test_program=$1 cli=$2 compare=$3 src=$4
MPIRUN=$5
source "$(dirname "$0")/mpirun.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
spec=$src/samples/movielens/deep-32.json
epochs=3

"$cli" train --spec "$spec" --epochs $epochs --threads 1 --quiet --order-ranks 2 --save "$work/single.tt" \
  >"$work/single.log" 2>&1 &
single=$!
mpi_run -np 2 "$test_program" "$spec" $epochs "$work/capi.tt"
wait "$single" || { cat "$work/single.log"; exit 1; }
cat "$work/single.log"
"$compare" "$work/capi.tt" "$work/single.tt" 1e-3 0.002
