// Data-parallel training over MPI: the step time with N ranks beside the single-process step
// time of the same global batches, the communication share of a step and the bytes sent.
//   mpirun -np N bench_distributed [--spec FILE] [--data DIR] [--epochs E]
// bench/distributed.sh runs it for 1 and 2 ranks (docs/distributed.md). Every rank trains with
// one thread; after the distributed run, rank 0 trains the same global batches alone
// (order_ranks N) while the other ranks wait without spinning.
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "base/error.h"
#include "bench_common.h"
#include "data/locate.h"
#include "dist/distributed_fit.h"

using namespace tt;

namespace {

double train_seconds(const TrainResult& r) {
  double s = 0;
  for (const EpochRecord& e : r.history) s += e.seconds;
  return s;
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string one;
  f >> one;
  return one.empty() ? "?" : one;
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::string spec_path = std::string(TT_SOURCE_DIR) + "/samples/movielens/deep-32.json", data_dir;
  size_t epochs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--spec")) spec_path = argv[i + 1];
    if (!std::strcmp(argv[i], "--data")) data_dir = argv[i + 1];
    if (!std::strcmp(argv[i], "--epochs")) epochs = std::strtoul(argv[i + 1], nullptr, 10);
  }
  try {
    dist::Communicator comm(MPI_COMM_WORLD, 3600.0);
    const ModelSpec spec = ModelSpec::from_file(spec_path);
    const Dataset data = load_movielens_dataset(locate_movielens(data_dir, TT_SOURCE_DIR));
    TrainOptions opt;
    opt.epochs = epochs;
    opt.eval_every = 0;  // evaluation after the last epoch only, and not timed
    opt.threads = 1;
    const std::string load_before = load_average();
    dist::DistributedStats stats;
    const FitResult d = dist::fit_distributed(spec, data, opt, comm, &stats);
    const double steps = static_cast<double>(stats.steps);
    const double step_ms = 1e3 * stats.train_seconds / steps;
    const double comm_share = stats.exchange_seconds / stats.train_seconds;
    const double mb = static_cast<double>(stats.bytes_sent) / steps / 1e6;
    // Rank 0's figures with the slowest rank's step time (the step is as slow as its slowest).
    std::vector<uint64_t> step_ns = comm.allgather(static_cast<uint64_t>(step_ms * 1e6), "step times");
    double slowest = 0;
    for (uint64_t ns : step_ns) slowest = std::max(slowest, static_cast<double>(ns) / 1e6);
    double single_ms = 0;
    if (rank == 0) {
      opt.order_ranks = static_cast<size_t>(comm.size());
      const FitResult s = fit_retrieval_model(spec, data, opt);
      single_ms = 1e3 * train_seconds(s.training) / steps;
      const double top_d = d.training.final_metrics->at(100), top_s = s.training.final_metrics->at(100);
      std::printf("bench_distributed: %s, global batch %zu, %zu epochs (%.0f steps), one thread per rank\n",
                  spec.name.c_str(), spec.training.batch_size, epochs, steps);
      std::printf("load average (1 min) before %s, after %s on %u hardware threads\n", load_before.c_str(),
                  load_average().c_str(), std::thread::hardware_concurrency());
      tt::bench::print_isa();
      std::printf("%-6s %-14s %-14s %-10s %-11s %-12s %-10s %s\n", "ranks", "step ms (dist)", "step ms (1 proc)",
                  "speedup", "efficiency", "comm share", "MB/step", "top-100 dist / 1 proc");
      std::printf("%-6d %-14.2f %-16.2f %-10.2f %-11.2f %-12.1f %-10.3f %.4f / %.4f\n", comm.size(), slowest, single_ms,
                  single_ms / slowest, single_ms / slowest / comm.size(), 100.0 * comm_share, mb, top_d, top_s);
      std::fflush(stdout);
    }
    comm.allgather(0, "end of the benchmark");  // the others wait here, polling with sleeps
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_distributed: rank %d: %s\n", rank, e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return 0;
}
