# Sourced by the MPI tests: runs mpirun with the flags these tests need on one machine.
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
