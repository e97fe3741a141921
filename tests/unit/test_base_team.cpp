// The team behind ThreadPool::share (base/team.h): the caller always takes part, helpers that
// wake in time help, none touches the work after run() returns, exceptions reach the caller,
// and a second caller is told the team is busy.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>

#include "base/parallel.h"
#include "base/team.h"

using namespace tt;

namespace {
using clk = std::chrono::steady_clock;
}

TEST_CASE("team: every item once, the caller takes part, helpers join, nothing runs after run() returns") {
  Team team(3);
  CHECK(team.size() == 3);
  const auto caller = std::this_thread::get_id();
  bool helper_joined = false;
  for (int rep = 0; rep < 50; ++rep) {
    constexpr size_t kItems = 1000;
    std::atomic<size_t> next{0}, done{0}, helpers{0};
    std::atomic<bool> open{true};
    std::vector<std::atomic<int>> seen(kItems);
    std::atomic<bool> caller_ran{false}, late{false};
    REQUIRE(team.run([&](size_t t) {
      if (!open.load()) late = true;
      if (t == 0) {
        CHECK(std::this_thread::get_id() == caller);
        caller_ran = true;
        // The first time, wait (up to 5 s) for a helper, so that joining is checked.
        const auto until = clk::now() + std::chrono::seconds(5);
        while (rep == 0 && helpers.load() == 0 && clk::now() < until) std::this_thread::yield();
      } else {
        CHECK(std::this_thread::get_id() != caller);
        ++helpers;
      }
      for (size_t i; (i = next.fetch_add(1)) < kItems;) {
        ++seen[i];
        ++done;
      }
    }));
    open = false;
    CHECK(caller_ran.load());
    CHECK(done.load() == kItems);
    for (auto& s : seen) CHECK(s.load() == 1);
    helper_joined = helper_joined || helpers.load() > 0;
    // A helper that wakes now finds run() closed: it must not call the old job.
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    CHECK(!late.load());
  }
  CHECK(helper_joined);
}

TEST_CASE("team: an exception from the caller's part or a helper's reaches the caller; busy while running") {
  Team team(2);
  CHECK_THROWS_AS(team.run([](size_t t) {
    if (t == 0) throw std::runtime_error("caller");
  }),
                  std::runtime_error);
  // A helper's exception: the caller's part waits until the helper has thrown.
  std::atomic<bool> thrown{false};
  CHECK_THROWS_WITH(team.run([&](size_t t) {
    if (t == 1) {
      thrown = true;
      throw std::runtime_error("helper");
    }
    const auto until = clk::now() + std::chrono::seconds(5);
    while (!thrown.load() && clk::now() < until) std::this_thread::yield();
  }),
                    "helper");
  // Another caller while a run is under way: refused, not queued.
  bool other = true;
  CHECK(team.run([&](size_t t) {
    if (t == 0) std::thread([&] { other = team.run([](size_t) {}); }).join();
  }));
  CHECK(!other);
  // Usable again afterwards.
  std::atomic<int> calls{0};
  CHECK(team.run([&](size_t) { ++calls; }));
  CHECK(calls.load() >= 1);
}

TEST_CASE("thread pool: share runs the whole work whatever the thread count") {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    for (int rep = 0; rep < 20; ++rep) {
      std::atomic<size_t> next{0}, sum{0};
      pool.share([&](size_t t) {
        CHECK(t < static_cast<size_t>(threads));
        for (size_t i; (i = next.fetch_add(1)) < 100;) sum += i;
      });
      CHECK(sum.load() == 4950);
    }
  }
}

TEST_CASE("team: a detached run returns without waiting for a stalled helper, which keeps the job alive") {
  Team team(2);
  std::atomic<int> helper_in{0}, release{0}, helper_out{0};
  auto job = std::make_shared<const std::function<void(size_t)>>([&](size_t t) {
    const auto until = clk::now() + std::chrono::seconds(10);
    if (t == 0) {  // let the helper in first
      while (helper_in.load() == 0 && clk::now() < until) std::this_thread::yield();
      return;
    }
    helper_in = 1;
    while (release.load() == 0 && clk::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    helper_out = 1;
    throw std::runtime_error("dropped: the caller redoes a helper's items");
  });
  std::weak_ptr<const std::function<void(size_t)>> alive = job;
  REQUIRE(team.run_detached(job));
  job.reset();
  CHECK(helper_in.load() == 1);
  CHECK(helper_out.load() == 0);
  CHECK(!alive.expired());  // the helper holds its copy
  // The team is free again; its only helper is still out, so the caller does everything.
  std::atomic<size_t> items{0};
  REQUIRE(team.run([&](size_t) {
    for (int i = 0; i < 100; ++i) ++items;
  }));
  CHECK(items.load() >= 100);
  release = 1;
  const auto until = clk::now() + std::chrono::seconds(10);
  while (!alive.expired() && clk::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(helper_out.load() == 1);
  CHECK(alive.expired());
  // And the helper joins runs again.
  std::atomic<int> helpers{0};
  for (int rep = 0; rep < 100 && helpers.load() == 0; ++rep)
    REQUIRE(team.run([&](size_t t) {
      const auto wait_until = clk::now() + std::chrono::milliseconds(50);
      if (t == 0)
        while (helpers.load() == 0 && clk::now() < wait_until) std::this_thread::yield();
      else
        ++helpers;
    }));
  CHECK(helpers.load() > 0);
}
