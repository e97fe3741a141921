// Serving: model-file load time, single-query latency (p50, p99) and batch throughput on the
// MovieLens model through the C API, and exact top-100 over 1,000,000 synthetic candidates
// (d = 32 and 64), single and batched, beside the machine's measured limits.
// Usage: bench_query --model FILE [--data DIR]   (make FILE with `twotower train ... --save FILE`)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "bench_common.h"
#include "data/locate.h"
#include "data/movielens.h"
#include "index/candidate_index.h"
#include "twotower/twotower.h"

using namespace tt;
using namespace tt::bench;

static void movielens_model(const std::string& path, const std::string& data) {
  // Load time (best of 5).
  double load_s = 1e9;
  tt_model* m = nullptr;
  for (int i = 0; i < 5; ++i) {
    tt_model* mm = nullptr;
    auto t0 = clk::now();
    if (tt_model_load_v2(path.c_str(), nullptr, &mm) != TT_OK) {
      std::fprintf(stderr, "%s\n", tt_last_error());
      std::exit(1);
    }
    load_s = std::min(load_s, since(t0));
    if (m) tt_model_free(m);
    m = mm;
  }
  MovieLens ml = load_movielens(locate_movielens(data, TT_SOURCE_DIR));
  const auto& users = ml.ratings.column("user_id").strings();
  const auto& ts = ml.ratings.column("timestamp").ints();
  tt_query_options qo;
  tt_query_options_init(&qo);
  qo.k = 10;
  int64_t ids[1000 * 10];
  float scores[1000 * 10];
  // Single queries, each building its one-row table as a caller would.
  std::vector<double> lat;
  for (size_t i = 0; i < 3000; ++i) {
    const char* u = users[i].c_str();
    auto t0 = clk::now();
    tt_table* q = nullptr;
    tt_table_create(&q);
    tt_table_append_strings(q, "user_id", &u, 1);
    tt_table_append_int64(q, "timestamp", &ts[i], 1);
    tt_model_query(m, q, &qo, ids, scores);
    tt_table_free(q);
    if (i >= 200) lat.push_back(since(t0));
  }
  // Batches of 1000 queries.
  tt_table* q = nullptr;
  tt_table_create(&q);
  std::vector<const char*> up(1000);
  for (size_t i = 0; i < 1000; ++i) up[i] = users[i].c_str();
  tt_table_append_strings(q, "user_id", up.data(), 1000);
  tt_table_append_int64(q, "timestamp", ts.data(), 1000);
  double batch_s = 1e9;
  for (int r = 0; r < 10; ++r) {
    auto t0 = clk::now();
    tt_model_query(m, q, &qo, ids, scores);
    batch_s = std::min(batch_s, since(t0));
  }
  tt_table_free(q);
  size_t nc = 0;
  tt_model_num_candidates(m, &nc);
  std::printf("MovieLens model %s (%zu candidates)\n", path.c_str(), nc);
  std::printf("  load (best of 5)                 %10.2f ms\n", load_s * 1e3);
  std::printf("  single query top-10, p50         %10.1f us\n", percentile(lat, 0.50) * 1e6);
  std::printf("  single query top-10, p99         %10.1f us\n", percentile(lat, 0.99) * 1e6);
  std::printf("  batch of 1000 queries (best)     %10.2f ms  = %.0f queries/s\n", batch_s * 1e3, 1000 / batch_s);
  tt_model_free(m);
}

// Exact top-100 over 1M synthetic candidates, scanning float32, then bf16 and int8 copies
// (re-scored in float32 on a shortlist); each compact scan is checked against the float32
// answer and timed against it in the same run.
static void synthetic(size_t d, ThreadPool& pool, double bw, double gflops) {
  const size_t n = 1'000'000, nq = 1000, k = 100;
  SyntheticSet data = make_synthetic(n, d, nq);
  std::vector<std::string> keys(n);
  CandidateIndex idx(std::move(keys), std::move(data.candidates));
  const Matrix& q = data.queries;
  std::vector<int64_t> exact(nq * k), ids(nq * k);
  std::vector<float> scores(nq * k);
  SearchOptions so;
  so.k = k;
  std::printf("1,000,000 candidates, d = %zu, top-%zu\n", d, k);
  double single_f32 = 0, batch_f32 = 0;
  for (Precision p : {Precision::f32, Precision::bf16, Precision::int8}) {
    idx.set_scan_precision(p);
    std::vector<double> lat;
    for (size_t i = 0; i < 60; ++i) {
      auto t0 = clk::now();
      idx.search(q.row(i % nq), 1, so, ids.data(), scores.data(), pool);
      if (i >= 10) lat.push_back(since(t0));
    }
    double batch_s = 1e9;
    for (int r = 0; r < 3; ++r) {
      auto t0 = clk::now();
      idx.search(q.data(), nq, so, ids.data(), scores.data(), pool);
      batch_s = std::min(batch_s, since(t0));
    }
    const double single = percentile(lat, 0.5);
    const double bytes = static_cast<double>(n * d * precision_element_size(p) + (p == Precision::int8 ? 4 * n : 0));
    const double bw_bound = bytes / (bw * 1e9);
    const double gemm_bound = 2.0 * nq * n * d / (gflops * 1e9);
    std::printf("  %-4s single query p50 %8.2f ms  (read bound %.2f ms: %.2fx)", precision_name(p), single * 1e3,
                bw_bound * 1e3, single / bw_bound);
    if (p == Precision::f32) {
      single_f32 = single;
      batch_f32 = batch_s;
      exact = ids;
      std::printf("\n       1000 queries     %8.1f ms  (GEMM bound %.1f ms: %.2fx), %.0f queries/s\n", batch_s * 1e3,
                  gemm_bound * 1e3, batch_s / gemm_bound, nq / batch_s);
      continue;
    }
    // The same top-k as the float32 scan: same ids as sets per query (order may differ only
    // between candidates whose float32 scores tie up to rounding).
    size_t differ = 0;
    for (size_t i = 0; i < nq; ++i) {
      std::vector<int64_t> a(exact.begin() + i * k, exact.begin() + (i + 1) * k),
          b(ids.begin() + i * k, ids.begin() + (i + 1) * k);
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      differ += a != b;
    }
    std::printf(", %.2fx faster than f32\n", single_f32 / single);
    std::printf(
        "       1000 queries     %8.1f ms  (%.2fx faster than f32), top-%zu sets differing from f32: %zu of %zu\n",
        batch_s * 1e3, batch_f32 / batch_s, k, differ, nq);
  }
}

int main(int argc, char** argv) {
  std::string model, data;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model"))
      model = argv[i + 1];
    else if (!std::strcmp(argv[i], "--data"))
      data = argv[i + 1];
  }
  ThreadPool pool(0);
  const double bw = read_bandwidth_gbs(pool), gflops = sgemm_gflops(pool);
  print_isa();
  std::printf("machine now: read bandwidth %.1f GB/s, sgemm %.0f GFLOP/s on %d threads\n\n", bw, gflops,
              pool.threads());
  if (!model.empty())
    movielens_model(model, data);
  else
    std::printf("(no --model FILE: MovieLens serving figures skipped)\n");
  for (size_t d : {32, 64}) synthetic(d, pool, bw, gflops);
  return 0;
}
