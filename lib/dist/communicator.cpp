#include "dist/communicator.h"

#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <thread>

#include "base/error.h"

namespace tt::dist {

namespace {

void check_mpi(int code, const char* call, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  fail(ErrorKind::io, std::string(call) + " (" + what + ") failed: " + std::string(text, length));
}

}  // namespace

// Polls instead of blocking in MPI_Wait, which could wait forever for a dead rank: first a
// few yields (most collectives of a step finish within microseconds of the last rank's
// arrival), then sleeps that grow to a millisecond, so a waiting rank does not burn a core.
void wait_for(MPI_Request& request, double timeout, int rank, const char* what) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto deadline = start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(timeout));
  auto pause = std::chrono::microseconds(20);
  for (int polls = 0;; ++polls) {
    int done = 0;
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test", what);
    if (done) return;
    if (clock::now() > deadline)
      fail(ErrorKind::io, "rank " + std::to_string(rank) + ": " + what + ": no answer from the other ranks for " +
                              std::to_string(static_cast<int>(timeout)) +
                              " s; a rank has died or hangs (the limit is TWOTOWER_MPI_TIMEOUT)");
    if (polls < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
  }
}

MPI_Comm duplicate_communicator(MPI_Comm comm, double timeout_seconds) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized) fail(ErrorKind::invalid_argument, "MPI is not initialised (call MPI_Init first)");
  if (finalized) fail(ErrorKind::invalid_argument, "MPI is already finalised (MPI_Finalize was called)");
  if (comm == MPI_COMM_NULL) fail(ErrorKind::invalid_argument, "the communicator is MPI_COMM_NULL");
  // The caller's error handler (by default fatal) is set aside while the duplicate is made, so
  // a failure comes back as a code.
  MPI_Errhandler theirs;
  check_mpi(MPI_Comm_get_errhandler(comm, &theirs), "MPI_Comm_get_errhandler", "start-up");
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  int rank = 0;
  MPI_Comm dup = MPI_COMM_NULL;
  MPI_Request request;
  int code = MPI_Comm_rank(comm, &rank);
  if (code == MPI_SUCCESS) code = MPI_Comm_idup(comm, &dup, &request);
  MPI_Comm_set_errhandler(comm, theirs);
  MPI_Errhandler_free(&theirs);
  check_mpi(code, "MPI_Comm_idup", "start-up");
  wait_for(request, timeout_seconds, rank, "duplicating the communicator");
  return dup;
}

Communicator::Communicator(MPI_Comm comm, double timeout_seconds) : comm_(comm), timeout_(timeout_seconds) {
  if (!(timeout_seconds > 0.0) || !std::isfinite(timeout_seconds))
    fail(ErrorKind::invalid_argument, "the collective timeout must be a positive number of seconds");
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) fail(ErrorKind::invalid_argument, "MPI is not initialised (call MPI_Init first)");
  if (comm == MPI_COMM_NULL) fail(ErrorKind::invalid_argument, "the communicator is MPI_COMM_NULL");
  // Errors come back as codes (and become exceptions here) rather than aborting the job.
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank", "start-up");
  check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size", "start-up");
}

int Communicator::checked_count(size_t n, const char* what) {
  if (n > static_cast<size_t>(INT_MAX))
    fail(ErrorKind::invalid_argument,
         std::string(what) + ": " + std::to_string(n) + " elements in one message, more than MPI's int count allows");
  return static_cast<int>(n);
}

void Communicator::wait(MPI_Request& request, const char* what) { wait_for(request, timeout_, rank_, what); }

std::vector<uint64_t> Communicator::allgather(uint64_t mine, const char* what) {
  std::vector<uint64_t> all(static_cast<size_t>(size_));
  MPI_Request r;
  check_mpi(MPI_Iallgather(&mine, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, comm_, &r), "MPI_Iallgather", what);
  wait(r, what);
  return all;
}

std::vector<uint8_t> Communicator::allgatherv(std::span<const uint8_t> mine, std::vector<size_t>& counts,
                                              const char* what) {
  const std::vector<uint64_t> sizes = allgather(mine.size(), what);
  std::vector<int> recv(sizes.size()), displs(sizes.size());
  size_t total = 0;
  counts.assign(sizes.begin(), sizes.end());
  for (size_t r = 0; r < sizes.size(); ++r) {
    recv[r] = checked_count(sizes[r], what);
    displs[r] = checked_count(total, what);
    total += sizes[r];
  }
  checked_count(total, what);
  std::vector<uint8_t> all(total);
  MPI_Request req;
  check_mpi(MPI_Iallgatherv(mine.data(), checked_count(mine.size(), what), MPI_BYTE, all.data(), recv.data(),
                            displs.data(), MPI_BYTE, comm_, &req),
            "MPI_Iallgatherv", what);
  wait(req, what);
  return all;
}

void Communicator::allreduce_sum(void* values, size_t n, MPI_Datatype type, const char* what) {
  MPI_Request r;
  check_mpi(MPI_Iallreduce(MPI_IN_PLACE, values, checked_count(n, what), type, MPI_SUM, comm_, &r), "MPI_Iallreduce",
            what);
  wait(r, what);
}

void Communicator::reduce_scatter_sum(std::span<const float> values, std::span<const size_t> counts,
                                      std::span<float> mine, const char* what) {
  std::vector<int> recv(counts.size());
  for (size_t r = 0; r < counts.size(); ++r) recv[r] = checked_count(counts[r], what);
  if (mine.size() != counts[static_cast<size_t>(rank_)])
    fail(ErrorKind::internal, std::string(what) + ": this rank's block has the wrong size");
  MPI_Request r;
  check_mpi(MPI_Ireduce_scatter(values.data(), mine.data(), recv.data(), MPI_FLOAT, MPI_SUM, comm_, &r),
            "MPI_Ireduce_scatter", what);
  wait(r, what);
}

std::vector<uint8_t> Communicator::broadcast(std::span<const uint8_t> from_rank0, const char* what) {
  uint64_t size = from_rank0.size();
  MPI_Request r;
  check_mpi(MPI_Ibcast(&size, 1, MPI_UINT64_T, 0, comm_, &r), "MPI_Ibcast", what);
  wait(r, what);
  std::vector<uint8_t> out(from_rank0.begin(), from_rank0.end());
  out.resize(size);
  check_mpi(MPI_Ibcast(out.data(), checked_count(size, what), MPI_BYTE, 0, comm_, &r), "MPI_Ibcast", what);
  wait(r, what);
  return out;
}

double timeout_from_environment(double fallback) {
  const char* text = std::getenv("TWOTOWER_MPI_TIMEOUT");
  if (!text || !*text) return fallback;
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(v > 0.0) || !std::isfinite(v))
    fail(ErrorKind::invalid_argument,
         std::string("TWOTOWER_MPI_TIMEOUT is '") + text + "'; it must be a positive number of seconds");
  return v;
}

}  // namespace tt::dist
