#include "base/team.h"

#include <chrono>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace tt {

Team::Team(size_t size) : size_(size ? size : 1) {}

Team::~Team() {
  if (threads_.empty()) return;
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& t : threads_) t.join();
}

bool Team::start(const SharedJob& fn, bool detached, std::unique_lock<std::mutex>& lock) {
  lock = std::unique_lock<std::mutex>(busy_, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  uint32_t g = generation_.load() + 1;
  if (g == 0) g = 1;  // open_ == 0 means closed
  if (threads_.empty()) {
    for (size_t t = 1; t < size_; ++t) threads_.emplace_back([this, t, seen = generation_.load()] { helper(t, seen); });
    keep_off_callers_cpu(true);
  } else {
    keep_off_callers_cpu(false);
  }
  {
    std::lock_guard<std::mutex> l(job_mutex_);
    job_ = fn;
    detached_ = detached;
  }
  error_ = nullptr;
  open_.store(g);
  generation_.store(g);
  generation_.notify_all();
  return true;
}

bool Team::run(const std::function<void(size_t)>& fn) {
  std::unique_lock<std::mutex> lock;
  // Not owned: this call waits below for every helper inside fn.
  if (!start(SharedJob(SharedJob{}, &fn), false, lock)) return false;
  try {
    fn(0);
  } catch (...) {
    std::lock_guard<std::mutex> l(error_mutex_);
    if (!error_) error_ = std::current_exception();
  }
  // Helpers not inside fn by now stay out (see helper()); wait for those inside. They hold one
  // item each, so spin a little before blocking: a blocked caller takes as long to wake as a
  // helper did.
  open_.store(0);
  const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
  for (unsigned i = 1; active_.load() != 0; ++i) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if (i % 64 == 0 && std::chrono::steady_clock::now() > spin_until) {
      for (uint32_t a; (a = active_.load()) != 0;) active_.wait(a);
      break;
    }
  }
  {
    std::lock_guard<std::mutex> l(job_mutex_);
    job_.reset();
  }
  if (error_) std::rethrow_exception(error_);
  return true;
}

bool Team::run_detached(const SharedJob& fn) {
  std::unique_lock<std::mutex> lock;
  if (!start(fn, true, lock)) return false;
  struct Close {
    Team& team;
    ~Close() {
      team.open_.store(0);
      std::lock_guard<std::mutex> l(team.job_mutex_);
      team.job_.reset();
    }
  } close{*this};
  (*fn)(0);
  return true;
}

// Linux wakes a thread on the waker's CPU when it judges that CPU about to be free ("wake
// affine"), which after a few milliseconds of idle it usually did here: the helper then waited
// behind the caller's own part and never helped (a futex waiter woken 40 us into a 540 us
// spin ran within 500 us in 20 of 200 tries after 2 ms idle, 168 of 200 times on the caller's
// CPU; allowed only the other CPU, in 198 of 200, p50 29 us). So the helpers may run on every
// CPU the caller may use except the one the caller is on; set again only when the caller
// has moved.
void Team::keep_off_callers_cpu(bool first) {
#if defined(__linux__)
  if (first) {
    allowed_ = std::make_unique<cpu_set_t>();
    if (pthread_getaffinity_np(pthread_self(), sizeof(cpu_set_t), allowed_.get()) != 0 || CPU_COUNT(allowed_.get()) < 2)
      allowed_.reset();  // nowhere else to go
  }
  if (!allowed_) return;
  const int cpu = sched_getcpu();
  if (cpu < 0 || cpu == last_cpu_) return;
  last_cpu_ = cpu;
  cpu_set_t others = *allowed_;
  if (cpu < CPU_SETSIZE) CPU_CLR(cpu, &others);
  if (CPU_COUNT(&others) == 0) return;
  for (auto& t : threads_) pthread_setaffinity_np(t.native_handle(), sizeof others, &others);
#else
  (void)first;
#endif
}

void Team::helper(size_t t, uint32_t seen) {
  for (;;) {
    generation_.wait(seen);
    const uint32_t g = generation_.load();
    seen = g;
    if (stop_.load()) return;
    // Announce, then check that run g is still open; run() closes it and then waits for the
    // announced ones (both sequentially consistent: one of the two sees the other).
    active_.fetch_add(1);
    SharedJob job;
    bool detached = false;
    if (open_.load() == g) {
      std::lock_guard<std::mutex> l(job_mutex_);
      if (open_.load() == g) {
        job = job_;
        detached = detached_;
      }
    }
    // A detached run's caller does not wait for this helper: leave its count at once.
    if (detached && active_.fetch_sub(1) == 1) active_.notify_all();
    if (job) {
      try {
        (*job)(t);
      } catch (...) {
        if (!detached) {
          std::lock_guard<std::mutex> l(error_mutex_);
          if (!error_) error_ = std::current_exception();
        }
      }
    }
    job.reset();
    if (!detached && active_.fetch_sub(1) == 1) active_.notify_all();
  }
}

}  // namespace tt
