// The approximate index: k-means, recall against exact search on a fixed seeded set (a floor),
// the recall target, determinism, filtered search (k results whenever k candidates pass), and
// rebuilding from stored parts; the float32 scan of few queries that exact search uses.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "base/error.h"
#include "base/parallel.h"
#include "base/random.h"
#include "index/candidate_index.h"
#include "index/float_scan.h"
#include "index/kmeans.h"
#include "index/partition_index.h"
#include "isa_test_support.h"

using namespace tt;

namespace {

// A seeded Gaussian mixture (what trained embeddings look like): `clusters` centres, points
// scattered around them.
Matrix mixture(size_t n, size_t d, size_t clusters, uint64_t seed) {
  Rng rng(seed);
  Matrix centres(clusters, d), x(n, d);
  for (float& v : centres.span()) v = rng.uniform(-1.0f, 1.0f);
  for (size_t i = 0; i < n; ++i) {
    const size_t c = static_cast<size_t>(rng.below(clusters));
    for (size_t j = 0; j < d; ++j) x.at(i, j) = centres.at(c, j) + 0.3f * rng.uniform(-1.0f, 1.0f);
  }
  return x;
}

CandidateIndex make_index(Matrix x) {
  std::vector<std::string> keys(x.rows());
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = std::to_string(i);
  return CandidateIndex(std::move(keys), std::move(x));
}

double recall(const std::vector<int64_t>& exact, const std::vector<int64_t>& got, size_t nq, size_t k) {
  size_t found = 0;
  for (size_t i = 0; i < nq; ++i) {
    std::set<int64_t> truth(exact.begin() + i * k, exact.begin() + (i + 1) * k);
    for (size_t j = 0; j < k; ++j) found += truth.count(got[i * k + j]);
  }
  return double(found) / double(nq * k);
}

}  // namespace

TEST_CASE("k-means: recovers well separated clusters, deterministic across thread counts") {
  const size_t d = 8;
  Rng rng(5);
  Matrix x(3000, d);
  for (size_t i = 0; i < x.rows(); ++i)
    for (size_t j = 0; j < d; ++j) x.at(i, j) = (j == i % 3 ? 10.0f : 0.0f) + rng.uniform(-0.5f, 0.5f);
  KMeansOptions o;
  o.clusters = 3;
  o.seed = 1;
  ThreadPool one(1), two(2);
  const Matrix a = kmeans(x.data(), x.rows(), d, o, one);
  const Matrix b = kmeans(x.data(), x.rows(), d, o, two);
  CHECK(std::equal(a.span().begin(), a.span().end(), b.span().begin()));
  // Every row lands with the rows of its own cluster.
  const auto assign = nearest_centroids(a, x.data(), x.rows(), two);
  for (size_t i = 0; i < x.rows(); ++i) CHECK(assign[i] == assign[i % 3]);
  std::set<uint32_t> distinct(assign.begin(), assign.end());
  CHECK(distinct.size() == 3);
  o.clusters = 0;
  CHECK_THROWS_AS(kmeans(x.data(), x.rows(), d, o, one), Error);
  o.clusters = 3001;
  CHECK_THROWS_AS(kmeans(x.data(), x.rows(), d, o, one), Error);
}

TEST_CASE("approximate index: recall on a fixed seeded set stays above its floor; the target maps to a breadth") {
  const size_t n = 20000, d = 16, nq = 100, k = 20;
  CandidateIndex idx = make_index(mixture(n, d, 50, 7));
  const Matrix queries = mixture(nq, d, 50, 8);
  ThreadPool pool(2);
  PartitionBuildOptions bo;
  bo.seed = 3;
  bo.calibration_queries = &queries;
  idx.build_partitions(bo, pool);
  const PartitionIndex& parts = *idx.partitions();
  CHECK(parts.partitions() == PartitionIndex::default_partitions(n));
  REQUIRE(!parts.calibration().empty());
  CHECK(parts.calibration_k() == 100);
  // The curve rises to (nearly) exact.
  CHECK(parts.calibration().back().recall >= 0.99f);

  std::vector<int64_t> exact(nq * k), got(nq * k);
  std::vector<float> s(nq * k), s2(nq * k);
  SearchOptions so;
  so.k = k;
  idx.search(queries.data(), nq, so, exact.data(), s.data(), pool);
  // A recall target: the breadth calibrated for it reaches about that recall.
  so.recall = 0.9;
  CHECK(idx.approximate(so));
  idx.search(queries.data(), nq, so, got.data(), s2.data(), pool);
  const double r90 = recall(exact, got, nq, k);
  MESSAGE("recall@20 at target 0.9: " << r90 << " (probe " << parts.probe_for_recall(0.9) << " of "
                                      << parts.partitions() << ")");
  CHECK(r90 >= 0.85);  // the floor for this fixed set
  // Scanning a tenth of the partitions, default shortlist.
  so.recall = 0.0;
  so.probe = parts.partitions() / 10;
  idx.search(queries.data(), nq, so, got.data(), s2.data(), pool);
  const double r10 = recall(exact, got, nq, k);
  MESSAGE("recall@20 scanning 10% of partitions: " << r10);
  CHECK(r10 >= 0.80);
  // Returned scores are exact float32 scores, best first.
  for (size_t i = 0; i < nq; ++i)
    for (size_t j = 0; j < k; ++j) {
      const int64_t id = got[i * k + j];
      REQUIRE(id >= 0);
      float e = 0.0f;
      for (size_t c = 0; c < d; ++c) e += queries.at(i, c) * idx.embeddings().at(static_cast<size_t>(id), c);
      CHECK(s2[i * k + j] == doctest::Approx(e).epsilon(1e-5));
      if (j) CHECK(s2[i * k + j] <= s2[i * k + j - 1]);
    }
  // Every partition with a shortlist as large as the index: exact.
  so.probe = parts.partitions();
  so.rescore = n;
  idx.search(queries.data(), nq, so, got.data(), s2.data(), pool);
  CHECK(recall(exact, got, nq, k) == 1.0);
  // recall 0 or >= 1: exact search.
  so = {};
  so.k = k;
  so.recall = 1.0;
  CHECK(!idx.approximate(so));
}

TEST_CASE("approximate index: same answers for one and two threads, one query at a time and in a batch") {
  const size_t n = 60000, d = 32, nq = 40, k = 10;
  CandidateIndex idx = make_index(mixture(n, d, 30, 21));
  const Matrix q = mixture(nq, d, 30, 22);
  ThreadPool one(1), two(2);
  PartitionBuildOptions bo;
  bo.calibration_sample = 16;
  idx.build_partitions(bo, two);
  SearchOptions so;
  so.k = k;
  so.probe = idx.partitions()->partitions() / 2;  // enough to split one query across threads
  std::vector<int64_t> a(nq * k), b(nq * k), c(nq * k);
  std::vector<float> sa(nq * k), sb(nq * k), sc(nq * k);
  idx.search(q.data(), nq, so, a.data(), sa.data(), one);
  idx.search(q.data(), nq, so, b.data(), sb.data(), two);
  for (size_t i = 0; i < nq; ++i) idx.search(q.row(i), 1, so, c.data() + i * k, sc.data() + i * k, two);
  CHECK(a == b);
  CHECK(a == c);
  CHECK(sa == sc);
  // The build is deterministic too.
  CandidateIndex again = make_index(mixture(n, d, 30, 21));
  ThreadPool two_more(2);
  again.build_partitions(bo, one);
  CHECK(again.partitions()->assignment() == idx.partitions()->assignment());
}

TEST_CASE("approximate index: filtered search returns k results whenever k candidates pass") {
  const size_t n = 20000, d = 16, k = 10;
  CandidateIndex idx = make_index(mixture(n, d, 40, 31));
  const Matrix q = mixture(4, d, 40, 32);
  ThreadPool pool(2);
  PartitionBuildOptions bo;
  bo.calibration_sample = 16;
  idx.build_partitions(bo, pool);
  const PartitionIndex& parts = *idx.partitions();
  SearchOptions so;
  so.k = k;
  so.probe = 1;
  std::vector<int64_t> ids(4 * k);
  std::vector<float> sc(4 * k);

  // Exclude every candidate of the best partitions of each query: post-filtering would return
  // nothing; filtered search goes on to further partitions.
  std::vector<std::vector<int64_t>> excl(4);
  for (size_t i = 0; i < 4; ++i) {
    std::vector<std::pair<float, uint32_t>> cs;
    for (uint32_t p = 0; p < parts.partitions(); ++p) {
      float s = 0.0f;
      for (size_t c = 0; c < d; ++c) s += q.at(i, c) * parts.centroids().at(p, c);
      cs.push_back({-s, p});
    }
    std::sort(cs.begin(), cs.end());
    for (size_t j = 0; j < 3; ++j)
      for (size_t pos = 0; pos < n; ++pos)
        if (parts.assignment()[pos] == cs[j].second) excl[i].push_back(static_cast<int64_t>(pos));
  }
  for (const auto& e : excl) so.exclude.push_back(e);
  idx.search(q.data(), 4, so, ids.data(), sc.data(), pool);
  for (size_t i = 0; i < 4; ++i)
    for (size_t j = 0; j < k; ++j) {
      REQUIRE(ids[i * k + j] >= 0);
      CHECK(std::find(excl[i].begin(), excl[i].end(), ids[i * k + j]) == excl[i].end());
    }
  so.exclude.clear();

  // Unfiltered, a breadth whose partitions hold fewer than k candidates still gives k.
  {
    SearchOptions wide;
    wide.k = 3 * n / parts.partitions();
    wide.probe = 1;
    std::vector<int64_t> many(wide.k);
    std::vector<float> many_scores(wide.k);
    idx.search(q.row(0), 1, wide, many.data(), many_scores.data(), pool);
    for (int64_t id : many) CHECK(id >= 0);
    CHECK(std::set<int64_t>(many.begin(), many.end()).size() == wide.k);
  }
  // An allow-list spread over the catalogue (one candidate in 50): k results, all allowed.
  std::vector<int64_t> allow;
  for (size_t pos = 0; pos < n; pos += 50) allow.push_back(static_cast<int64_t>(pos));
  so.allow = allow;
  idx.search(q.data(), 4, so, ids.data(), sc.data(), pool);
  for (size_t i = 0; i < 4 * k; ++i) {
    REQUIRE(ids[i] >= 0);
    CHECK(ids[i] % 50 == 0);
  }
  // A small allow-list is searched exactly: its best k, in order.
  std::vector<int64_t> few{5, 17, 900, 4000, 12345, 19999, 3, 8, 600, 7001, 15000, 2};
  so.allow = few;
  so.k = 20;  // more than pass: the rest is -1 / -inf
  std::vector<int64_t> ids20(20);
  std::vector<float> sc20(20);
  idx.search(q.row(0), 1, so, ids20.data(), sc20.data(), pool);
  for (size_t j = 0; j < few.size(); ++j) CHECK(std::find(few.begin(), few.end(), ids20[j]) != few.end());
  for (size_t j = few.size(); j < 20; ++j) {
    CHECK(ids20[j] == -1);
    CHECK(std::isinf(sc20[j]));
  }
  // Allow-list and exclusions together: only allowed, never excluded.
  so.k = 5;
  std::vector<int64_t> drop{5, 17, 900};
  so.exclude = {drop};
  idx.search(q.row(0), 1, so, ids20.data(), sc20.data(), pool);
  for (size_t j = 0; j < 5; ++j) {
    CHECK(std::find(few.begin(), few.end(), ids20[j]) != few.end());
    CHECK(std::find(drop.begin(), drop.end(), ids20[j]) == drop.end());
  }
}

TEST_CASE("approximate index: rebuilt from its stored parts, it answers identically; bad parts are refused") {
  const size_t n = 5000, d = 8;
  CandidateIndex idx = make_index(mixture(n, d, 20, 41));
  ThreadPool pool(2);
  PartitionBuildOptions bo;
  bo.partitions = 40;
  bo.calibration_sample = 32;
  idx.build_partitions(bo, pool);
  const PartitionIndex& p = *idx.partitions();
  auto copy = std::make_shared<PartitionIndex>(
      PartitionIndex::from_parts(idx.embeddings(), p.centroids(), p.assignment(), p.calibration(), p.calibration_k()));
  CandidateIndex other = make_index(idx.embeddings());
  other.set_partitions(copy);
  const Matrix q = mixture(7, d, 20, 42);
  SearchOptions so;
  so.k = 15;
  so.recall = 0.8;
  std::vector<int64_t> a(7 * 15), b(7 * 15);
  std::vector<float> sa(7 * 15), sb(7 * 15);
  idx.search(q.data(), 7, so, a.data(), sa.data(), pool);
  other.search(q.data(), 7, so, b.data(), sb.data(), pool);
  CHECK(a == b);
  CHECK(sa == sb);

  auto bad_assignment = p.assignment();
  bad_assignment[3] = 40;
  CHECK_THROWS_AS(PartitionIndex::from_parts(idx.embeddings(), p.centroids(), bad_assignment, {}, 0), Error);
  auto short_assignment = p.assignment();
  short_assignment.pop_back();
  CHECK_THROWS_AS(PartitionIndex::from_parts(idx.embeddings(), p.centroids(), short_assignment, {}, 0), Error);
  std::vector<PartitionCalibration> bad_curve{{3, 0.5f}, {2, 0.6f}};
  CHECK_THROWS_AS(PartitionIndex::from_parts(idx.embeddings(), p.centroids(), p.assignment(), bad_curve, 10), Error);
  // An approximate index of other embeddings is refused.
  CandidateIndex smaller = make_index(mixture(n - 1, d, 20, 43));
  CHECK_THROWS_AS(smaller.set_partitions(idx.shared_partitions()), Error);
}

TEST_CASE("float scan: scores of 1 to 6 queries match a double-precision reference for any d and n") {
  isatest::for_each_isa([&](Isa) {
    Rng rng(77);
    for (size_t d : {1, 3, 8, 13, 32, 64})
      for (size_t n : {1, 3, 4, 5, 37}) {
        Matrix c(n, d), q(6, d);
        for (float& v : c.span()) v = rng.uniform(-1.0f, 1.0f);
        for (float& v : q.span()) v = rng.uniform(-1.0f, 1.0f);
        for (size_t nq = 1; nq <= 6; ++nq) {
          const size_t ld = n + 3;
          std::vector<float> s(nq * ld, -7.0f);
          scan_float_rows(c.data(), n, d, q.data(), nq, s.data(), ld);
          for (size_t r = 0; r < nq; ++r)
            for (size_t j = 0; j < n; ++j) {
              double e = 0.0;
              for (size_t i = 0; i < d; ++i) e += double(q.at(r, i)) * c.at(j, i);
              CHECK(s[r * ld + j] == doctest::Approx(e).epsilon(1e-5).scale(1.0));
            }
          for (size_t r = 0; r < nq; ++r) CHECK(s[r * ld + n] == -7.0f);  // nothing past n written
        }
      }
  });
}

TEST_CASE("approximate index: a recall target maps to the calibrated curve plus the margin, between its points") {
  const size_t n = 400, d = 4, parts = 100;
  Matrix emb(n, d), centroids(parts, d);
  Rng rng(11);
  for (float& v : emb.span()) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : centroids.span()) v = rng.uniform(-1.0f, 1.0f);
  std::vector<uint32_t> assignment(n);
  for (size_t i = 0; i < n; ++i) assignment[i] = static_cast<uint32_t>(i % parts);
  const std::vector<PartitionCalibration> curve{{10, 0.5f}, {20, 0.7f}, {40, 0.9f}, {80, 0.99f}, {97, 1.0f}};
  const PartitionIndex ix = PartitionIndex::from_parts(emb, centroids, assignment, curve, 10);
  CHECK(PartitionIndex::calibration_goal(0.95) == doctest::Approx(0.955));
  CHECK(PartitionIndex::calibration_goal(0.998) == doctest::Approx(0.999));  // half the way to 1
  // Below the first point: the first point.
  CHECK(ix.probe_for_recall(0.4) == 10);
  // 0.705 lies 0.025 of the way from (20, 0.7) to (40, 0.9): 20 + ceil(0.5).
  CHECK(ix.probe_for_recall(0.7) == 21);
  // 0.905 from (40, 0.9) to (80, 0.99): 40 + ceil(2.22); without the margin it would be 40.
  CHECK(ix.probe_for_recall(0.9) == 43);
  // 0.999 from (80, 0.99) to (97, 1.0): 80 + ceil(15.3).
  CHECK(ix.probe_for_recall(0.998) == 96);
  // A curve that never reaches the goal: every partition.
  const PartitionIndex short_curve =
      PartitionIndex::from_parts(emb, centroids, assignment, {{10, 0.5f}, {80, 0.99f}}, 10);
  CHECK(short_curve.probe_for_recall(0.99) == parts);
  CHECK(short_curve.probe_for_recall(0.98) == 80);
}
