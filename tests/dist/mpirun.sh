# Sourced by the MPI tests: runs mpirun with the flags these tests need on one machine.
# The data default of the rest of the project (../shared/data/ml-100k next to the project root)
# made absolute here: the tests run in the build directory, and mpirun's ranks inherit it.
if [ -z "${TWOTOWER_DATA:-}" ]; then
  _tt_default_data="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/../shared/data/ml-100k"
  if [ -d "$_tt_default_data" ]; then
    TWOTOWER_DATA=$(cd "$_tt_default_data" && pwd)
    export TWOTOWER_DATA
  fi
  unset _tt_default_data
fi
# --oversubscribe: more ranks than free cores is fine (one thread per rank); as root, Open MPI
# refuses to start unless told that is intended (containers and CI runners are often root).
mpi_run() {
  if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
  # Shared memory and loopback TCP only: nothing leaves the machine, and a container without
  # a high-speed network does not make Open MPI search for one.
  "$MPIRUN" --oversubscribe --mca btl self,vader,tcp --mca btl_tcp_if_include lo "$@"
}
