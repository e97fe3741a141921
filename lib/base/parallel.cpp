#include "base/parallel.h"

#include <omp.h>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <algorithm>
#include <exception>
#include <thread>

#include "base/error.h"

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
      arena_(std::make_unique<Arena>(threads_)) {}

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

void ThreadPool::for_each_omp(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  std::exception_ptr error;
  const long count = static_cast<long>(n);
  const int team = static_cast<int>(std::min<size_t>(n, static_cast<size_t>(threads_)));
#pragma omp parallel for schedule(static) num_threads(team)
  for (long i = 0; i < count; ++i) {
    try {
      // A team of one is not "in parallel" to OpenMP, so oneDNN would start a nested team of
      // its own here; pin it to one thread either way.
      OmpSingleThreadScope single;
      fn(static_cast<size_t>(i));
    } catch (...) {
#pragma omp critical(tt_for_each_omp_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
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
