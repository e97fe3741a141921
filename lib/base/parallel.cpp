#include "base/parallel.h"

#include <omp.h>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <algorithm>
#include <atomic>
#include <thread>

#include "base/error.h"
#include "base/team.h"

namespace tt {

OmpSingleThreadScope::OmpSingleThreadScope() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
OmpSingleThreadScope::~OmpSingleThreadScope() { omp_set_num_threads(saved_); }

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

struct ThreadPool::Arena {
  explicit Arena(int n) : arena(n) {}
  tbb::task_arena arena;
};

int checked_threads(long long threads, const std::string& option) {
  if (threads < 0 || threads > kMaxThreads)
    fail(ErrorKind::invalid_argument,
         option + " is " + std::to_string(threads) + "; it must be 0 (all cores) or 1.." + std::to_string(kMaxThreads));
  return static_cast<int>(threads);
}

ThreadPool::ThreadPool(int threads)
    : threads_(checked_threads(threads, "threads") ? threads : hardware_threads()),
      arena_(std::make_unique<Arena>(threads_)),
      team_(threads_ > 1 ? std::make_unique<Team>(static_cast<size_t>(threads_)) : nullptr) {}

ThreadPool::~ThreadPool() = default;

void ThreadPool::for_each(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  if (n == 1 || threads_ == 1) {
    OmpSingleThreadScope single;
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  arena_->arena.execute([&] {
    tbb::parallel_for(
        tbb::blocked_range<size_t>(0, n, 1),
        [&](const tbb::blocked_range<size_t>& r) {
          OmpSingleThreadScope single;
          for (size_t i = r.begin(); i != r.end(); ++i) fn(i);
        },
        tbb::simple_partitioner());
  });
}

void ThreadPool::for_each_in_order(size_t n, const std::function<void(size_t)>& fn) {
  if (n <= 1 || threads_ == 1) {
    for_each(n, fn);
    return;
  }
  std::atomic<size_t> next{0};
  for_each(std::min(n, static_cast<size_t>(threads_)), [&](size_t) {
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(i);
  });
}

void ThreadPool::share(const std::function<void(size_t)>& fn) {
  if (!team_) {
    OmpSingleThreadScope single;
    fn(0);
    return;
  }
  const bool ran = team_->run([&](size_t t) {
    OmpSingleThreadScope single;
    fn(t);
  });
  if (!ran) for_each(static_cast<size_t>(threads_), fn);
}

void ThreadPool::share_detached(std::shared_ptr<const std::function<void(size_t)>> fn) {
  if (!team_) {
    OmpSingleThreadScope single;
    (*fn)(0);
    return;
  }
  auto wrapped = std::make_shared<const std::function<void(size_t)>>([fn](size_t t) {
    OmpSingleThreadScope single;
    (*fn)(t);
  });
  if (!team_->run_detached(wrapped)) for_each(static_cast<size_t>(threads_), *fn);
}

size_t ThreadPool::parts(size_t items, size_t min_items) const {
  if (threads_ == 1 || items == 0) return 1;
  const size_t most = std::max<size_t>(1, items / std::max<size_t>(1, min_items));
  return std::min(kPartsPerThread * static_cast<size_t>(threads_), most);
}

void ThreadPool::with_omp(const std::function<void()>& fn) {
  int saved = omp_get_max_threads();
  omp_set_num_threads(threads_);
  try {
    fn();
  } catch (...) {
    omp_set_num_threads(saved);
    throw;
  }
  omp_set_num_threads(saved);
}

}  // namespace tt
