// Exact top-K search against a brute-force reference: splits by query and by candidate slice,
// ties, exclusions, allow-lists and padding.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <thread>

#include "base/error.h"
#include "base/parallel.h"
#include "base/random.h"
#include "index/candidate_index.h"
#include "isa_test_support.h"

using namespace tt;

namespace {

CandidateIndex random_index(size_t n, size_t d, Rng& rng, bool coarse) {
  Matrix e(n, d);
  // Coarse values (multiples of 1/4) make many exact score ties.
  for (float& v : e.span()) v = coarse ? std::floor(rng.uniform(-2.0f, 2.0f)) / 4.0f : rng.uniform(-1.0f, 1.0f);
  std::vector<std::string> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = "c" + std::to_string(i % (n - 3));  // a few repeated keys
  return CandidateIndex(std::move(keys), std::move(e));
}

// The reference: score everything in double, order by score then position.
std::vector<int64_t> brute_force(const CandidateIndex& idx, const float* q, size_t k,
                                 const std::vector<int64_t>& exclude, const std::vector<int64_t>& allow) {
  const size_t n = idx.size(), d = idx.dim();
  std::vector<std::pair<float, int64_t>> all;
  for (size_t j = 0; j < n; ++j) {
    if (std::find(exclude.begin(), exclude.end(), static_cast<int64_t>(j)) != exclude.end()) continue;
    if (!allow.empty() && std::find(allow.begin(), allow.end(), static_cast<int64_t>(j)) == allow.end()) continue;
    float s = 0.0f;
    for (size_t c = 0; c < d; ++c) s += q[c] * idx.embeddings().at(j, c);
    all.push_back({s, static_cast<int64_t>(j)});
  }
  std::sort(all.begin(), all.end(),
            [](auto& a, auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  std::vector<int64_t> out;
  for (size_t i = 0; i < k; ++i) out.push_back(i < all.size() ? all[i].second : -1);
  return out;
}

}  // namespace

TEST_CASE("index: exact top-k equals brute force for one query and for batches, 1 and 2 threads") {
  Rng rng(3);
  for (bool coarse : {false, true}) {
    // 40000 candidates: enough for the single-query path to split candidates into slices (with
    // the calling-thread rule for small catalogues off).
    CandidateIndex idx = random_index(40000, 8, rng, coarse);
    idx.set_serial_scan_bytes(0);
    for (size_t nq : {1, 3, 70}) {
      Matrix q(nq, 8);
      for (float& v : q.span()) v = coarse ? std::floor(rng.uniform(-2.0f, 2.0f)) / 2.0f : rng.uniform(-1.0f, 1.0f);
      for (int threads : {1, 2}) {
        ThreadPool pool(threads);
        SearchOptions so;
        so.k = 25;
        std::vector<int64_t> ids(nq * so.k);
        std::vector<float> scores(nq * so.k);
        idx.search(q.data(), nq, so, ids.data(), scores.data(), pool);
        for (size_t i = 0; i < nq; ++i) {
          CAPTURE(coarse);
          CAPTURE(nq);
          CAPTURE(threads);
          CAPTURE(i);
          auto want = brute_force(idx, q.row(i), so.k, {}, {});
          // Scores equal up to summation order; with coarse values they are exact and ties
          // must resolve to the lower position.
          if (coarse) {
            CHECK(std::equal(want.begin(), want.end(), ids.begin() + i * so.k));
          } else {
            size_t same = 0;
            for (size_t r = 0; r < so.k; ++r) same += want[r] == ids[i * so.k + r];
            CHECK(same >= so.k - 1);
          }
          for (size_t r = 1; r < so.k; ++r) CHECK(scores[i * so.k + r - 1] >= scores[i * so.k + r]);
        }
      }
    }
  }
}

TEST_CASE("index: exclusions, allow-list, padding and bad options") {
  Rng rng(4);
  CandidateIndex idx = random_index(50, 4, rng, true);
  ThreadPool pool(2);
  Matrix q(2, 4);
  for (float& v : q.span()) v = rng.uniform(-1.0f, 1.0f);
  SearchOptions so;
  so.k = 60;
  std::vector<int64_t> ex0 = {0, 1, 2, 3, 4, 49, 1000, -7};  // out-of-range entries are ignored
  std::vector<int64_t> ex1;
  so.exclude = {ex0, ex1};
  std::vector<int64_t> ids(2 * 60);
  std::vector<float> scores(2 * 60);
  idx.search(q.data(), 2, so, ids.data(), scores.data(), pool);
  auto want0 = brute_force(idx, q.row(0), 60, ex0, {});
  CHECK(std::equal(want0.begin(), want0.end(), ids.begin()));
  CHECK(ids[50 - 6 - 1] >= 0);
  CHECK(ids[50 - 6] == -1);  // 44 candidates remain for query 0
  CHECK(std::isinf(scores[59]));
  CHECK(ids[60 + 49] >= 0);
  CHECK(ids[60 + 50] == -1);

  std::vector<int64_t> allow = {5, 9, 11};
  so.exclude.clear();
  so.allow = allow;
  so.k = 4;
  idx.search(q.data(), 2, so, ids.data(), scores.data(), pool);
  for (size_t r = 0; r < 3; ++r) CHECK((ids[r] == 5 || ids[r] == 9 || ids[r] == 11));
  CHECK(ids[3] == -1);

  so.allow = {};
  so.k = 0;
  CHECK_THROWS_AS(idx.search(q.data(), 2, so, ids.data(), scores.data(), pool), Error);
  so.k = 1;
  so.exclude = {ex0};  // one list for two queries
  CHECK_THROWS_AS(idx.search(q.data(), 2, so, ids.data(), scores.data(), pool), Error);
}

TEST_CASE("index: keys and positions") {
  Matrix e(4, 2);
  e.zero();
  CandidateIndex idx({"a", "b", "a", "c"}, std::move(e));
  CHECK(idx.key_position("a") == 0);
  CHECK(idx.key_positions("a") == std::vector<int64_t>{0, 2});
  CHECK(idx.key_position("zzz") == -1);
  CHECK(idx.key_positions("zzz").empty());
  CHECK_THROWS_AS(CandidateIndex({"x"}, Matrix(2, 2)), Error);
}

TEST_CASE("index: a copy looks keys up in its own storage") {
  Matrix e(2, 1);
  e.zero();
  auto original = std::make_unique<CandidateIndex>(std::vector<std::string>{"a", "b"}, std::move(e));
  CandidateIndex copy(*original);
  CandidateIndex assigned;
  assigned = *original;
  original.reset();  // the copies must not point into the freed keys
  CHECK(copy.key_position("b") == 1);
  CHECK(assigned.key_position("a") == 0);
}

namespace {

// Searches idx at f32 and at `p` and checks the compact scan returns the float32 top-k: the
// same ids in the same order, except that two candidates whose float32 scores differ only by
// summation-order rounding may swap.
void check_compact_scan_matches(CandidateIndex idx, const Matrix& q, Precision p, const SearchOptions& so,
                                ThreadPool& pool) {
  const size_t nq = q.rows(), k = so.k;
  std::vector<int64_t> want(nq * k), got(nq * k);
  std::vector<float> want_s(nq * k), got_s(nq * k);
  idx.search(q.data(), nq, so, want.data(), want_s.data(), pool);
  idx.set_scan_precision(p);
  REQUIRE(idx.scan_precision() == p);
  idx.search(q.data(), nq, so, got.data(), got_s.data(), pool);
  for (size_t i = 0; i < nq * k; ++i) {
    CAPTURE(i);
    if (want[i] < 0) {  // padding
      CHECK(got[i] == -1);
      continue;
    }
    // Equal ids, or two ids whose float32 scores tie up to summation-order rounding.
    CHECK(std::fabs(want_s[i] - got_s[i]) <= 1e-6f * (1.0f + std::fabs(want_s[i])));
  }
}

}  // namespace

TEST_CASE("index: bf16 and int8 scans return the float32 top-k, for one query and for batches") {
  isatest::for_each_isa([&](Isa) {
    Rng rng(11);
    for (bool coarse : {false, true}) {
      // 40003 candidates: the last packed group of 8 is partial. 1, 3 and 8 queries (two passes
      // of 4) scan the compact copy; 67 queries are a batch, which scans float32.
      CandidateIndex idx = random_index(40003, 16, rng, coarse);
      idx.set_serial_scan_bytes(0);
      for (size_t nq : {1, 3, 8, 67}) {
        Matrix q(nq, 16);
        for (float& v : q.span()) v = rng.uniform(-1.0f, 1.0f);
        for (Precision p : {Precision::bf16, Precision::int8})
          for (int threads : {1, 2}) {
            CAPTURE(coarse);
            CAPTURE(nq);
            CAPTURE(precision_name(p));
            ThreadPool pool(threads);
            SearchOptions so;
            so.k = 25;
            check_compact_scan_matches(idx, q, p, so, pool);
          }
      }
    }
  });
}

TEST_CASE("index: compact scans keep candidates that only float32 can tell apart") {
  isatest::for_each_isa([&](Isa) {
    // Every candidate is one vector plus a perturbation far below bf16 and int8 resolution, so
    // the approximate scores cannot rank them: only the shortlist's error bound saves the result.
    Rng rng(12);
    const size_t n = 3000, d = 8;
    Matrix e(n, d);
    std::vector<float> base(d);
    for (float& v : base) v = rng.uniform(0.5f, 1.0f);
    for (size_t r = 0; r < n; ++r)
      for (size_t c = 0; c < d; ++c) e.at(r, c) = base[c] + rng.uniform(-1e-4f, 1e-4f);
    std::vector<std::string> keys(n);
    for (size_t i = 0; i < n; ++i) keys[i] = std::to_string(i);
    CandidateIndex idx(std::move(keys), std::move(e));
    Matrix q(2, d);
    for (float& v : q.span()) v = rng.uniform(0.5f, 1.0f);
    ThreadPool pool(2);
    SearchOptions so;
    so.k = 10;
    std::vector<int64_t> exact(2 * so.k), ids(2 * so.k);
    std::vector<float> scores(2 * so.k), exact_scores(2 * so.k);
    idx.search(q.data(), 2, so, exact.data(), exact_scores.data(), pool);
    for (Precision p : {Precision::bf16, Precision::int8}) {
      CAPTURE(precision_name(p));
      idx.set_scan_precision(p);
      idx.search(q.data(), 2, so, ids.data(), scores.data(), pool);
      for (size_t i = 0; i < ids.size(); ++i) {
        CAPTURE(i);
        CHECK(scores[i] == doctest::Approx(exact_scores[i]).epsilon(1e-6));  // rounding-order swaps only
      }
      // The exact top-10 set is found (the approximate scores alone would pick almost any 10).
      for (size_t r = 0; r < 2; ++r) {
        std::vector<int64_t> a(exact.begin() + r * so.k, exact.begin() + (r + 1) * so.k);
        std::vector<int64_t> b(ids.begin() + r * so.k, ids.begin() + (r + 1) * so.k);
        std::sort(a.begin(), a.end());
        std::sort(b.begin(), b.end());
        CHECK(a == b);
      }
    }
  });
}

TEST_CASE("index: compact scans honour exclusions, allow-lists and padding; copies keep the precision") {
  isatest::for_each_isa([&](Isa) {
    Rng rng(13);
    CandidateIndex idx = random_index(50, 4, rng, false);
    ThreadPool pool(2);
    Matrix q(2, 4);
    for (float& v : q.span()) v = rng.uniform(-1.0f, 1.0f);
    std::vector<int64_t> ex0 = {0, 1, 2, 3, 4, 49}, ex1;
    std::vector<int64_t> allow = {5, 9, 11, 40};
    for (Precision p : {Precision::bf16, Precision::int8}) {
      CAPTURE(precision_name(p));
      SearchOptions so;
      so.k = 60;
      so.exclude = {ex0, ex1};
      check_compact_scan_matches(idx, q, p, so, pool);
      so.exclude.clear();
      so.allow = allow;
      so.k = 6;
      check_compact_scan_matches(idx, q, p, so, pool);
      idx.set_scan_precision(p);
      CandidateIndex copy(idx);
      CHECK(copy.scan_precision() == p);
      idx.set_scan_precision(Precision::f32);
    }
    CHECK_THROWS_AS(idx.set_scan_precision(Precision::fp16), Error);
  });
}

TEST_CASE("index: a few queries shared with the pool's helpers give the single thread's answer bit for bit") {
  // Coarse values make many exact ties, also at the k-th place: which thread scanned which
  // sub-block must not decide which of them is returned, nor any score.
  Rng rng(21);
  CandidateIndex idx = random_index(40003, 8, rng, true);
  idx.set_serial_scan_bytes(0);  // 40003 x 8 is below the calling-thread rule's size
  ThreadPool one(1), two(2);
  for (Precision p : {Precision::f32, Precision::bf16, Precision::int8}) {
    idx.set_scan_precision(p);
    for (size_t nq : {1, 3, 8}) {
      Matrix q(nq, 8);
      for (float& v : q.span()) v = std::floor(rng.uniform(-2.0f, 2.0f)) / 2.0f;
      SearchOptions so;
      so.k = 100;
      const std::vector<int64_t> ex = {7, 40000, 12345};
      so.exclude.assign(nq, ex);
      std::vector<int64_t> want(nq * so.k), got(want.size());
      std::vector<float> want_s(want.size()), got_s(want.size());
      idx.search(q.data(), nq, so, want.data(), want_s.data(), one);
      for (int rep = 0; rep < 5; ++rep) {
        CAPTURE(precision_name(p));
        CAPTURE(nq);
        CAPTURE(rep);
        idx.search(q.data(), nq, so, got.data(), got_s.data(), two);
        CHECK(want == got);
        CHECK(std::memcmp(want_s.data(), got_s.data(), want_s.size() * sizeof(float)) == 0);
      }
    }
  }
}

namespace {
// Drives the shared scan's test hook: the helper stops in its first block until released
// (as if the host had descheduled it there); the caller starts only once the helper holds it.
struct StalledHelper {
  static inline std::atomic<int> claimed{0}, released{0}, finished{0};
  static inline std::atomic<size_t> held_block{~size_t{0}};
  static void hook(size_t thread, size_t block, bool done) {
    using clk = std::chrono::steady_clock;
    const auto until = clk::now() + std::chrono::seconds(10);
    if (thread == 0) {
      while (!done && claimed.load() == 0 && clk::now() < until) std::this_thread::yield();
      return;
    }
    if (done) {
      if (block == held_block.load()) finished = 1;
      return;
    }
    if (claimed.exchange(1) != 0) return;
    held_block = block;
    while (released.load() == 0 && clk::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // Still "descheduled" a while after the release, so that the index's destructor below
    // has to wait for this block to be finished.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
};
}  // namespace

TEST_CASE("index: a search does not wait for a stalled helper; it scans the held block itself, bit for bit") {
  Rng rng(22);
  auto idx = std::make_unique<CandidateIndex>(random_index(60001, 8, rng, true));
  idx->set_serial_scan_bytes(0);
  ThreadPool one(1), two(2);
  Matrix q(2, 8);
  for (float& v : q.span()) v = std::floor(rng.uniform(-2.0f, 2.0f)) / 2.0f;
  SearchOptions so;
  so.k = 100;
  std::vector<int64_t> want(2 * so.k), got(want.size());
  std::vector<float> want_s(want.size()), got_s(want.size());
  idx->search(q.data(), 2, so, want.data(), want_s.data(), one);

  const uint64_t redone_before = CandidateIndex::searches_redone();
  testing::shared_scan_hook = &StalledHelper::hook;
  idx->search(q.data(), 2, so, got.data(), got_s.data(), two);
  // Returned while the helper still holds its block, which the caller scanned again.
  CHECK(StalledHelper::claimed.load() == 1);
  CHECK(StalledHelper::finished.load() == 0);
  CHECK(CandidateIndex::searches_redone() == redone_before + 1);
  CHECK(want == got);
  CHECK(std::memcmp(want_s.data(), got_s.data(), want_s.size() * sizeof(float)) == 0);
  // The helper is still out: the next search goes on without it, with the same answer.
  std::fill(got.begin(), got.end(), -7);
  idx->search(q.data(), 2, so, got.data(), got_s.data(), two);
  CHECK(want == got);
  // A moved-from index holds no storage: changing its precision or freeing it waits for nothing.
  {
    CandidateIndex moved = random_index(100, 8, rng, true);
    CandidateIndex taken = std::move(moved);
    moved.set_scan_precision(Precision::f32);
  }
  // Freeing the index waits until the stalled helper has finished reading it.
  StalledHelper::released = 1;
  idx.reset();
  CHECK(StalledHelper::finished.load() == 1);
  testing::shared_scan_hook = nullptr;
}
