// A team for short, latency-bound parallel work (one query's scan, well under a millisecond):
// the calling thread and helper threads of the team's own, woken through a futex.
//
// Why not the TBB arena of ThreadPool::for_each: after a few milliseconds idle, Linux tends to
// wake a thread on the waker's CPU, behind the caller, and TBB's workers are not ours to steer.
// On this project's 2-core VM, after 2 ms idle, TBB's worker did not join a 0.4 ms
// parallel_for at all in 148 of 200 tries, nor a plain futex-woken helper a query's scan in
// 692 of 900 queries. The team's helpers are kept off the caller's CPU (affinity: every CPU
// the caller may use but the one it is on; team.cpp, keep_off_callers_cpu): then a helper
// joined within 500 us in 198 of 200 tries, p50 29 us.
//
// The work must be shareable: run(fn) calls fn(0) on the calling thread and fn(t) on helper t
// only if that helper wakes before fn(0) returns, so fn(0) alone must be able to do all of it
// (each call takes items from a shared counter until none are left). run() returns once fn(0)
// and every fn(t) that started have returned; a helper that wakes later does nothing, so a
// helper the host deschedules never delays the caller by more than the item it holds.
// Helpers block when idle (never spin), and are started on first use.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#else
struct cpu_set_t;
#endif

namespace tt {

class Team {
 public:
  // `size` threads in all: the caller and size - 1 helpers.
  explicit Team(size_t size);
  ~Team();
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  size_t size() const { return size_; }
  // As above. Returns false without calling fn when another run is under way on this team
  // (concurrent callers: the caller then uses another way). An exception from any fn(t) is
  // rethrown here (the first one).
  bool run(const std::function<void(size_t)>& fn);
  // Like run(), but returns as soon as fn(0) has returned: a helper still inside fn(t) then (the
  // host descheduled it in the middle of an item) finishes on its own, holding its copy of fn,
  // so fn must own or keep alive everything a helper touches, and the caller must not need the
  // helper's unfinished item (it redoes it). Exceptions from helpers are dropped (their items
  // are redone by the caller); from fn(0) they are rethrown. A helper still inside an earlier
  // detached fn misses later runs until it is done; the caller goes on without it.
  using SharedJob = std::shared_ptr<const std::function<void(size_t)>>;
  bool run_detached(const SharedJob& fn);

 private:
  bool start(const SharedJob& fn, bool detached, std::unique_lock<std::mutex>& lock);
  void helper(size_t t, uint32_t seen);
  void keep_off_callers_cpu(bool first);

  size_t size_;
  std::mutex busy_;  // one run at a time
  std::vector<std::thread> threads_;
  // Run number: helpers wait for it to change. open_ is the run helpers may still join (0:
  // none); active_ counts helpers inside fn.
  std::atomic<uint32_t> generation_{0};
  std::atomic<uint32_t> open_{0};
  std::atomic<uint32_t> active_{0};
  std::atomic<bool> stop_{false};
  // The open run's work; helpers copy it under job_mutex_ (a detached run's caller drops its
  // reference when it returns, while a helper may still hold one).
  std::mutex job_mutex_;
  SharedJob job_;
  bool detached_ = false;
  std::unique_ptr<cpu_set_t> allowed_;  // the CPUs the first caller could use (Linux)
  int last_cpu_ = -1;
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace tt
