// Helpers shared by the serving benchmarks (bench_query, bench_faiss): timing, the machine's
// measured limits, and the synthetic candidate set, so every benchmark scores the same data.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <vector>

#include "base/cpu_isa.h"
#include "base/parallel.h"
#include "base/random.h"
#include "nn/gemm.h"
#include "nn/matrix.h"

namespace tt::bench {

using clk = std::chrono::steady_clock;

// The instruction sets the run used: the library's own kernels (TWOTOWER_MAX_ISA caps them) and
// oneDNN's (DNNL_MAX_CPU_ISA caps it). Every benchmark prints it, so figures name their ISA.
inline void print_isa() { std::printf("ISA: kernels %s; oneDNN %s\n", isa_report().c_str(), gemm_cpu_isa()); }

inline double since(clk::time_point t0) { return std::chrono::duration<double>(clk::now() - t0).count(); }

inline double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// Read bandwidth of this machine now, in GB/s: the pool's threads summing a buffer of `bytes`
// (1 GiB by default, far beyond the caches); best of 3.
inline double read_bandwidth_gbs(ThreadPool& pool, size_t bytes = size_t{1} << 30) {
  const size_t n = bytes / sizeof(float);
  std::vector<float> buf(n, 1.0f);
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<double> sums(pool.threads());
    auto t0 = clk::now();
    pool.for_each(static_cast<size_t>(pool.threads()), [&](size_t t) {
      const size_t b = n * t / pool.threads(), e = n * (t + 1) / pool.threads();
      float acc[16] = {};
      for (size_t i = b; i + 16 <= e; i += 16)
        for (int k = 0; k < 16; ++k) acc[k] += buf[i + k];
      sums[t] = std::accumulate(acc, acc + 16, 0.0);
    });
    best = std::max(best, static_cast<double>(n * sizeof(float)) / since(t0) / 1e9);
    if (sums[0] < 0) std::printf("?");
  }
  return best;
}

// sgemm peak of this machine now, in GFLOP/s: one n x n x n product through oneDNN per pool
// thread at once (the library runs sgemm on one thread per task, base/parallel.h); best of 3.
inline double sgemm_gflops(ThreadPool& pool, long n = 2048) {
  const size_t threads = static_cast<size_t>(pool.threads());
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f);
  std::vector<std::vector<float>> c(threads, std::vector<float>(n * n));
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = clk::now();
    pool.for_each(
        threads, [&](size_t t) { sgemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c[t].data(), n); });
    best = std::max(best, 2.0 * n * n * n * static_cast<double>(threads) / since(t0) / 1e9);
  }
  return best;
}

// The synthetic serving workload: n candidates and nq queries of dimension d, every value
// uniform in [-1, 1], candidates first, from one generator seeded with d.
struct SyntheticSet {
  Matrix candidates;
  Matrix queries;
};

inline SyntheticSet make_synthetic(size_t n, size_t d, size_t nq) {
  Rng rng(d);
  SyntheticSet s{Matrix(n, d), Matrix(nq, d)};
  for (float& v : s.candidates.span()) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : s.queries.span()) v = rng.uniform(-1.0f, 1.0f);
  return s;
}

}  // namespace tt::bench
