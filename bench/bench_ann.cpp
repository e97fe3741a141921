// The approximate index on bench_query's synthetic set (uniform values, the worst case for
// partitions) and on a seeded Gaussian mixture: build time, the calibrated recall curve, and for
// a few breadths the recall@k against exact search, single-query latency (p50) and the time of
// a batch, beside exact search (float32 and int8 scans) in the same run.
// Usage: bench_ann [--n N] [--d D] [--queries Q] [--k K] [--threads T] [--set uniform|mixture]
//                  [--single S] [--gap-us G] [--probes P1,P2,...] [--no-exact]
// --single: single queries timed per setting (200); --gap-us: idle time before each single
// query (0; a server between requests, whose idle pool threads have gone to sleep); --probes: breadths measured besides
// the recall targets'; --no-exact: skip timing exact search (its answers are still the truth).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <thread>

#include "bench_common.h"
#include "index/candidate_index.h"
#include "index/partition_index.h"

using namespace tt;
using namespace tt::bench;

namespace {

Matrix mixture(size_t n, size_t d, size_t clusters, Rng& rng, const Matrix* centres_in, Matrix* centres_out) {
  Matrix centres = centres_in ? *centres_in : Matrix(clusters, d);
  if (!centres_in)
    for (float& v : centres.span()) v = rng.uniform(-1.0f, 1.0f);
  Matrix x(n, d);
  for (size_t i = 0; i < n; ++i) {
    const size_t c = static_cast<size_t>(rng.below(centres.rows()));
    for (size_t j = 0; j < d; ++j) x.at(i, j) = centres.at(c, j) + 0.5f * rng.uniform(-1.0f, 1.0f);
  }
  if (centres_out) *centres_out = centres;
  return x;
}

// Mean recall@k over the queries, and its standard error (the spread of the queries' recalls
// over sqrt(queries)).
std::pair<double, double> recall_of(const std::vector<int64_t>& exact, const std::vector<int64_t>& got, size_t nq,
                                    size_t k) {
  double sum = 0, sum2 = 0;
  for (size_t i = 0; i < nq; ++i) {
    std::set<int64_t> truth(exact.begin() + i * k, exact.begin() + (i + 1) * k);
    size_t found = 0;
    for (size_t j = 0; j < k; ++j) found += truth.count(got[i * k + j]);
    const double r = double(found) / double(k);
    sum += r;
    sum2 += r * r;
  }
  const double mean = sum / double(nq), var = std::max(0.0, sum2 / double(nq) - mean * mean);
  return {mean, nq > 1 ? std::sqrt(var / double(nq - 1)) : 0.0};
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = 1'000'000, d = 64, nq = 1000, k = 100;
  size_t single = 200, gap_us = 0;
  int threads = 0;
  bool time_exact = true;
  std::vector<size_t> probes;
  std::string set = "uniform";
  for (int i = 1; i < argc; i += 2) {
    const std::string f = argv[i];
    if (f == "--no-exact") {
      time_exact = false;
      --i;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", argv[i]);
      return 2;
    }
    const char* v = argv[i + 1];
    if (f == "--n")
      n = std::stoul(v);
    else if (f == "--d")
      d = std::stoul(v);
    else if (f == "--queries")
      nq = std::stoul(v);
    else if (f == "--k")
      k = std::stoul(v);
    else if (f == "--threads")
      threads = std::stoi(v);
    else if (f == "--set")
      set = v;
    else if (f == "--gap-us")
      gap_us = std::stoul(v);
    else if (f == "--single")
      single = std::stoul(v);
    else if (f == "--probes")
      for (const char* p = v; *p;) {
        char* end = nullptr;
        probes.push_back(std::strtoul(p, &end, 10));
        p = *end ? end + 1 : end;
      }
    else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  ThreadPool pool(threads);
  Matrix cand, queries;
  if (set == "uniform") {
    SyntheticSet s = make_synthetic(n, d, nq);
    cand = std::move(s.candidates);
    queries = std::move(s.queries);
  } else {
    Rng rng(d + 1000);
    Matrix centres;
    cand = mixture(n, d, 1000, rng, nullptr, &centres);
    queries = mixture(nq, d, 1000, rng, &centres, nullptr);
  }
  std::vector<std::string> keys(n);
  CandidateIndex idx(std::move(keys), std::move(cand));
  print_isa();
  std::printf("%s set: %zu candidates x %zu, %zu queries, top-%zu, %d threads, %zu us before each single query\n",
              set.c_str(), n, d, nq, k, pool.threads(), gap_us);
  auto t0 = clk::now();
  PartitionBuildOptions bo;
  idx.build_partitions(bo, pool);
  const PartitionIndex& parts = *idx.partitions();
  std::printf("build: %zu partitions in %.1f s; calibration (recall@%zu on %zu sampled candidates):\n",
              parts.partitions(), since(t0), parts.calibration_k(), bo.calibration_sample);
  for (const auto& c : parts.calibration()) std::printf("  probe %5u  recall %.4f\n", c.probe, c.recall);

  std::vector<int64_t> exact(nq * k), ids(nq * k);
  std::vector<float> scores(nq * k);
  SearchOptions so;
  so.k = k;
  auto measure = [&](const char* label, const SearchOptions& o, bool check) {
    std::vector<double> lat;
    for (size_t i = 0; i < std::min(nq, single); ++i) {
      if (gap_us) std::this_thread::sleep_for(std::chrono::microseconds(gap_us));
      auto t = clk::now();
      idx.search(queries.row(i), 1, o, ids.data() + i * k, scores.data() + i * k, pool);
      lat.push_back(since(t));
    }
    auto t = clk::now();
    idx.search(queries.data(), nq, o, ids.data(), scores.data(), pool);
    const double batch = since(t);
    std::printf("  %-34s single p50 %8.3f ms  p99 %8.3f ms  %zu queries %8.1f ms", label, percentile(lat, 0.5) * 1e3,
                percentile(lat, 0.99) * 1e3, nq, batch * 1e3);
    if (check) {
      const auto [mean, se] = recall_of(exact, ids, nq, k);
      std::printf("  recall@%zu %.4f +- %.4f", k, mean, se);
    }
    std::printf("\n");
  };
  idx.search(queries.data(), nq, so, exact.data(), scores.data(), pool);
  if (time_exact) {
    measure("exact f32", so, false);
    idx.set_scan_precision(Precision::int8);
    measure("exact int8 scan + f32 re-score", so, true);
    idx.set_scan_precision(Precision::f32);
  }
  for (double r : {0.9, 0.95, 0.99}) {
    SearchOptions o = so;
    o.recall = r;
    char label[80];
    std::snprintf(label, sizeof label, "approximate, recall %.2f (probe %zu)", r, parts.probe_for_recall(r));
    measure(label, o, true);
  }
  for (size_t p : probes) {
    SearchOptions o = so;
    o.probe = p;
    char label[80];
    std::snprintf(label, sizeof label, "approximate, probe %zu", p);
    measure(label, o, true);
  }
  return 0;
}
