// A C interface to twotower's vector index for bench/serving.py (ctypes), so twotower and its
// peers run in one process and take turns query by query. Benchmark-only: the same
// CandidateIndex and approximate index that tt_model_query searches, fed with vectors.
// Every function returns 0 on success; tts_error() says what failed.
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include "bench_common.h"
#include "index/candidate_index.h"
#include "index/partition_index.h"

namespace {

thread_local std::string g_error;

struct Handle {
  tt::CandidateIndex index;
  std::unique_ptr<tt::ThreadPool> pool;
};

template <class F>
int guard(F&& f) {
  try {
    f();
    return 0;
  } catch (const std::exception& e) {
    g_error = e.what();
    return 1;
  }
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) const char* tts_error() { return g_error.c_str(); }

// bench_query's synthetic set, bit for bit: n candidates then nq queries of dimension d, every
// value uniform in [-1, 1], from one generator seeded with d.
__attribute__((visibility("default"))) int tts_synthetic(size_t n, size_t d, size_t nq, float* candidates,
                                                         float* queries) {
  return guard([&] {
    tt::bench::SyntheticSet s = tt::bench::make_synthetic(n, d, nq);
    std::memcpy(candidates, s.candidates.data(), n * d * sizeof(float));
    std::memcpy(queries, s.queries.data(), nq * d * sizeof(float));
  });
}

// The instruction sets in use, as the other benchmarks print them (bench_common.h).
__attribute__((visibility("default"))) const char* tts_isa() {
  static const std::string line = tt::isa_report() + "; oneDNN " + tt::gemm_cpu_isa();
  return line.c_str();
}

// The machine's read bandwidth now (GB/s) on `threads` threads.
__attribute__((visibility("default"))) double tts_read_bandwidth(int threads) {
  tt::ThreadPool pool(threads);
  return tt::bench::read_bandwidth_gbs(pool);
}

__attribute__((visibility("default"))) int tts_create(const float* x, size_t n, size_t d, int threads, void** out) {
  return guard([&] {
    tt::Matrix m(n, d);
    std::memcpy(m.data(), x, n * d * sizeof(float));
    auto h = std::make_unique<Handle>();
    h->index = tt::CandidateIndex(std::vector<std::string>(n), std::move(m));
    h->pool = std::make_unique<tt::ThreadPool>(threads);
    *out = h.release();
  });
}

__attribute__((visibility("default"))) void tts_free(void* h) { delete static_cast<Handle*>(h); }

// precision: 0 f32, 1 bf16, 3 int8 (the exact compact scans).
__attribute__((visibility("default"))) int tts_set_precision(void* h, int precision) {
  return guard([&] { static_cast<Handle*>(h)->index.set_scan_precision(static_cast<tt::Precision>(precision)); });
}

__attribute__((visibility("default"))) int tts_set_serial_bytes(void* h, size_t bytes) {
  return guard([&] { static_cast<Handle*>(h)->index.set_serial_scan_bytes(bytes); });
}

// Builds the approximate index (partitions 0: the default), calibrated on nq queries (0: a
// sample of the candidates). Writes the partition count.
__attribute__((visibility("default"))) int tts_build_ann(void* h, size_t partitions, uint64_t seed,
                                                         const float* calibration, size_t nq, size_t* out_partitions) {
  return guard([&] {
    Handle& hd = *static_cast<Handle*>(h);
    tt::PartitionBuildOptions o;
    o.partitions = partitions;
    o.seed = seed;
    tt::Matrix q;
    if (calibration && nq) {
      q.resize(nq, hd.index.dim());
      std::memcpy(q.data(), calibration, q.size() * sizeof(float));
      o.calibration_queries = &q;
    }
    hd.index.build_partitions(o, *hd.pool);
    *out_partitions = hd.index.partitions()->partitions();
  });
}

// The breadth calibrated for a recall target.
__attribute__((visibility("default"))) size_t tts_probe_for_recall(void* h, double recall) {
  const tt::PartitionIndex* p = static_cast<Handle*>(h)->index.partitions();
  return p ? p->probe_for_recall(recall) : 0;
}

// Top-k of nq queries: exact when probe == 0 and recall == 0.
__attribute__((visibility("default"))) int tts_search(void* h, const float* q, size_t nq, size_t k, double recall,
                                                      size_t probe, size_t rescore, int64_t* ids, float* scores) {
  return guard([&] {
    Handle& hd = *static_cast<Handle*>(h);
    tt::SearchOptions so;
    so.k = k;
    so.recall = recall;
    so.probe = probe;
    so.rescore = rescore;
    hd.index.search(q, nq, so, ids, scores, *hd.pool);
  });
}

}  // extern "C"
