// How twotower uses the machine's cores: one plan for the whole library (docs/architecture.md,
// "Threads"). It lives inside other people's services, so a busy host must slow it down in
// proportion, never stall it:
//   * every parallel loop of the library (training step phases, the loss, evaluation, scoring,
//     k-means, conversion) is a ThreadPool::for_each on a oneTBB arena of `threads`: work is cut
//     into a fixed number of parts and idle threads steal parts, so a thread the host
//     deschedules delays only the part it holds. TBB's idle workers spin briefly and then sleep;
//   * except one query's scan (well under a millisecond), which ThreadPool::share runs on the
//     caller and the pool's own futex-woken helpers (base/team.h): TBB's sleeping worker joined
//     such a short loop late or not at all. Exact scans use share_detached: the caller redoes
//     a block a descheduled helper holds instead of waiting for that helper's next time slice;
//   * oneDNN's sgemm (OpenMP underneath) always runs on the calling thread (nn/gemm.cpp limits
//     OpenMP to one thread around each call): the library never starts an OpenMP team, so no
//     OpenMP worker ever spin-waits at a barrier or after a region (libgomp spins for 300,000
//     iterations by default, and its wait policy can only be set in the environment before the
//     process starts, not by a library), and OpenMP never nests inside TBB;
//   * determinism: parts are fixed by the item count and the thread count (parts()), never by
//     timing, and partial results are combined in part order, so the same seed, data and thread
//     count give the same model bit for bit whichever thread ran which part.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace tt {

class Team;

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
  // Calls fn(i) for i in [0, n) on the pool's threads, each i once; idle threads take the
  // indices still waiting (work stealing), so give it more indices than threads when the host
  // may be busy (parts()). Returns when all are done; an exception from fn is rethrown here.
  void for_each(size_t n, const std::function<void(size_t)>& fn);
  // Like for_each, but each thread takes the lowest index not yet taken, one at a time: given
  // the longest items first, the threads then finish close together (list scheduling), where
  // for_each's halving of the range can leave one thread with the two longest items.
  void for_each_in_order(size_t n, const std::function<void(size_t)>& fn);
  // The parts a loop over `items` is cut into: 1 on one thread, else kPartsPerThread per thread
  // (a descheduled thread then holds back at most one small part while the others go on), but
  // no part smaller than min_items. Depends on the counts only, so a result combined in part
  // order is the same for a given thread count whatever the scheduling.
  size_t parts(size_t items, size_t min_items) const;
  static constexpr size_t kPartsPerThread = 4;
  // For short latency-bound work (one query's scan): calls fn(0) on the calling thread and
  // fn(t), t in 1..threads()-1, on each of the pool's helper threads that wakes before fn(0)
  // returns (base/team.h: threads of the pool's own, woken through a futex and kept off the
  // caller's CPU, where TBB's sleeping workers often joined too late to help). fn(0) alone
  // must be able to do all the work: each call takes items from a shared counter until none
  // are left. While another call is under way, runs through for_each (every fn(t) then runs).
  void share(const std::function<void(size_t)>& fn);
  // As share(), but returns once fn(0) has returned, without waiting for a helper the host has
  // descheduled in the middle of an item (Team::run_detached): fn owns or keeps alive all it
  // touches, and the caller redoes any item a helper has not reported done. While another call
  // is under way, runs through for_each (every fn(t) has then returned).
  void share_detached(std::shared_ptr<const std::function<void(size_t)>> fn);
  // Runs fn on the calling thread with OpenMP using this pool's thread count. Not used by the
  // library (which never starts an OpenMP team): for benchmarks driving OpenMP libraries (Faiss).
  void with_omp(const std::function<void()>& fn);

 private:
  int threads_;
  struct Arena;
  std::unique_ptr<Arena> arena_;
  std::unique_ptr<Team> team_;
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
