// An MPI communicator as the distributed trainer uses it: the collectives it needs, each
// started non-blocking and waited for with a deadline, so that a rank that died or hangs makes
// the others fail with a message naming the collective instead of waiting forever.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tt::dist {

class Communicator {
 public:
  // `timeout_seconds`: how long one collective may wait for the other ranks (> 0).
  Communicator(MPI_Comm comm, double timeout_seconds);

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm comm() const { return comm_; }
  double timeout_seconds() const { return timeout_; }

  // Every rank's `mine` (the same size on every rank), in rank order.
  std::vector<uint64_t> allgather(uint64_t mine, const char* what);
  // Every rank's bytes, concatenated in rank order; counts[r] receives rank r's size.
  std::vector<uint8_t> allgatherv(std::span<const uint8_t> mine, std::vector<size_t>& counts, const char* what);
  // In-place sums over the ranks.
  void allreduce_sum(std::span<float> values, const char* what) {
    allreduce_sum(values.data(), values.size(), MPI_FLOAT, what);
  }
  void allreduce_sum(std::span<double> values, const char* what) {
    allreduce_sum(values.data(), values.size(), MPI_DOUBLE, what);
  }
  // values: the concatenation of every rank's block in rank order (counts[r] floats each);
  // mine receives the sum over ranks of this rank's block.
  void reduce_scatter_sum(std::span<const float> values, std::span<const size_t> counts, std::span<float> mine,
                          const char* what);
  // Rank 0's bytes on every rank.
  std::vector<uint8_t> broadcast(std::span<const uint8_t> from_rank0, const char* what);

 private:
  void allreduce_sum(void* values, size_t n, MPI_Datatype type, const char* what);
  void wait(MPI_Request& request, const char* what);
  static int checked_count(size_t n, const char* what);

  MPI_Comm comm_;
  double timeout_;
  int rank_ = 0, size_ = 1;
};

// Waits for `request` until it completes, polling (yields, then sleeps growing to 1 ms) against
// a deadline of `timeout` seconds; past it throws ErrorKind::io naming `rank` and `what`.
void wait_for(MPI_Request& request, double timeout, int rank, const char* what);

// A duplicate of `comm` (MPI_Comm_idup, waited for with the deadline), for a library entry point
// given the caller's communicator: the library's messages never meet the caller's, and the
// error handler Communicator sets stays on the library's copy. Checks that MPI is initialised
// and not finalised. The caller frees it with MPI_Comm_free.
MPI_Comm duplicate_communicator(MPI_Comm comm, double timeout_seconds);

// The collective timeout from the environment (TWOTOWER_MPI_TIMEOUT, seconds), else `fallback`.
double timeout_from_environment(double fallback);

}  // namespace tt::dist
