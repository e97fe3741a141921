// How twotower uses the machine's cores. oneDNN here runs on OpenMP; serving and evaluation run
// on oneTBB. Left alone, a oneDNN call made from a TBB worker would start an OpenMP team per
// worker (two cores become twenty threads), and OpenMP workers that spin-wait after a region
// would compete with TBB workers for the same cores. The rules, enforced here:
//   * training runs on OpenMP only: every phase of a step is a parallel loop (for_each_omp) on
//     one team of `threads`, and the oneDNN sgemm calls made inside it run sequentially, with
//     OpenMP pinned to one thread there (oneDNN would otherwise open nested teams);
//   * serving and evaluation run on a TBB arena of `threads` (for_each); inside a TBB task,
//     OpenMP is limited to one thread (OmpSingleThreadScope), so oneDNN's sgemm runs
//     sequentially there;
//   * the two never overlap: each loop returns before the next phase starts.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace tt {

// Limits OpenMP (and so oneDNN) to one thread on this thread while in scope.
class OmpSingleThreadScope {
 public:
  OmpSingleThreadScope();
  ~OmpSingleThreadScope();
  OmpSingleThreadScope(const OmpSingleThreadScope&) = delete;
  OmpSingleThreadScope& operator=(const OmpSingleThreadScope&) = delete;

 private:
  int saved_;
};

// A fixed-size pool for one model or one training run. Work is split into a fixed number of
// chunks that does not depend on scheduling, so results are identical for a given thread count.
class ThreadPool {
 public:
  // threads 0 means all hardware threads; outside 0..kMaxThreads is invalid_argument.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }
  // Calls fn(i) for i in [0, n) on the pool's threads, each call with OpenMP limited to one
  // thread. Returns when all are done; an exception from fn is rethrown here.
  void for_each(size_t n, const std::function<void(size_t)>& fn);
  // Calls fn(i) for i in [0, n) on an OpenMP team of this pool's size, statically scheduled
  // (index i always runs on thread i * threads / n). For the training step, whose oneDNN calls
  // also run on OpenMP: one runtime, no idle spinning of the other.
  void for_each_omp(size_t n, const std::function<void(size_t)>& fn);
  // Runs fn on the calling thread with OpenMP (oneDNN) using this pool's thread count.
  void with_omp(const std::function<void()>& fn);

 private:
  int threads_;
  struct Arena;
  std::unique_ptr<Arena> arena_;
};

int hardware_threads();

// Every thread-count option (the CLI's --threads, tt_train_options.threads,
// tt_import_options.threads, ThreadPool) takes 0, all hardware threads, or 1..kMaxThreads.
// Beyond that OpenMP spends minutes creating and scheduling threads (20,000 did, at a load of
// 1,000) or crashes creating them (100,000 did); 256 still allows reproducing, on a small
// machine, a model trained with a large thread count (results depend on the count).
constexpr int kMaxThreads = 256;
// `threads` when it is in 0..kMaxThreads, else ErrorKind::invalid_argument naming `option`.
int checked_threads(long long threads, const std::string& option);

}  // namespace tt
