#!/usr/bin/env bash
# A rank that hangs or dies must make the others exit with an error, not hang:
#  1. rank 1 is stopped (SIGSTOP) once training runs: rank 0's next collective gets no answer
#     within TWOTOWER_MPI_TIMEOUT (5 s here), it names the collective and ends the job;
#  2. rank 1 is killed (SIGKILL): mpirun ends the job with an error.
#   test_dead_rank.sh <twotower> <source dir> <mpirun>
set -uo pipefail
cli=$1 src=$2
MPIRUN=$3
source "$(dirname "$0")/mpirun.sh"
work=$(mktemp -d)
trap 'kill -KILL $(cat "$work"/pid.* 2>/dev/null) 2>/dev/null; rm -rf "$work"' EXIT
spec=$src/samples/movielens/deep-32.json

run_and_break() {  # $1: the signal for rank 1
  rm -f "$work"/pid.* "$work/log"
  # Each rank records its pid, then becomes twotower (exec keeps the pid).
  TWOTOWER_MPI_TIMEOUT=5 mpi_run -np 2 bash -c 'echo $$ > "$0/pid.$OMPI_COMM_WORLD_RANK"; exec "$@"' "$work" \
    "$cli" train --spec "$spec" --epochs 50 --threads 1 --distributed >"$work/log" 2>&1 &
  local job=$! start=$SECONDS
  # Training has started once rank 0 prints its first line (after MPI_Init on both ranks).
  until grep -q "^training " "$work/log" 2>/dev/null; do
    sleep 0.5
    if ((SECONDS - start > 120)); then echo "training did not start"; cat "$work/log"; return 1; fi
  done
  sleep 2
  kill "-$1" "$(cat "$work/pid.1")"
  local waited=$SECONDS
  wait "$job"
  local rc=$?
  echo "--- SIG$1 to rank 1: mpirun exited with $rc after $((SECONDS - waited)) s"
  cat "$work/log"
  if [ "$rc" -eq 0 ]; then echo "FAIL: the job succeeded"; return 1; fi
  if ((SECONDS - waited > 90)); then echo "FAIL: took too long"; return 1; fi
  return 0
}

run_and_break STOP || exit 1
grep -q "rank 0: .*no answer from the other ranks for 5 s; a rank has died or hangs" "$work/log" ||
  { echo "FAIL: rank 0 did not name the collective that timed out"; exit 1; }
run_and_break KILL || exit 1
echo PASS
