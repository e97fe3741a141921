// twotower's CandidateIndex against Faiss IndexFlatIP (exact inner-product search) on the same
// synthetic candidates and queries as bench_query: single-query latency (p50, p99) and batch
// throughput for top-k, each beside the machine's bound measured in the same run, and a check
// that both libraries return the same top-k sets (exit 1 if not).
// The two libraries never run at the same time, and both use --threads threads: twotower on its
// TBB pool, Faiss (and its BLAS) on OpenMP.
// Usage: bench_faiss [--n N] [--d D] [--queries Q] [--k K] [--single S] [--threads T] [--quick]
#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/utils/utils.h>
#include <link.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "bench_common.h"
#include "index/candidate_index.h"

using namespace tt;
using namespace tt::bench;

namespace {

struct Args {
  size_t n = 1'000'000;
  std::vector<size_t> dims{32, 64};
  size_t queries = 1000, k = 100, single = 50, warmup = 10;
  int batch_reps = 3;
  int threads = 0;
  bool quick = false;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr,
               "bench_faiss: %s\nusage: bench_faiss [--n N] [--d D] [--queries Q] [--k K] [--single S] "
               "[--threads T] [--quick]\n",
               msg.c_str());
  std::exit(2);
}

size_t parse_count(const char* flag, const char* text, size_t min) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno || end == text || *end || text[0] == '-' || v < min)
    usage_error(std::string(flag) + " needs an integer >= " + std::to_string(min) + ", got '" + text + "'");
  return static_cast<size_t>(v);
}

Args parse_args(int argc, char** argv) {
  Args a;
  std::optional<size_t> n, d, queries, k, single, threads;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--quick") {
      a.quick = true;
      continue;
    }
    const bool known =
        f == "--n" || f == "--d" || f == "--queries" || f == "--k" || f == "--single" || f == "--threads";
    if (!known) usage_error("unknown argument '" + f + "'");
    if (i + 1 >= argc) usage_error(f + " needs a value");
    const char* v = argv[++i];
    if (f == "--n")
      n = parse_count("--n", v, 1);
    else if (f == "--d")
      d = parse_count("--d", v, 1);
    else if (f == "--queries")
      queries = parse_count("--queries", v, 1);
    else if (f == "--k")
      k = parse_count("--k", v, 1);
    else if (f == "--single")
      single = parse_count("--single", v, 1);
    else
      threads = parse_count("--threads", v, 0);
  }
  if (a.quick) {  // a smoke run: the same code paths on a small set
    a.n = 20'000;
    a.queries = 200;
    a.single = 20;
    a.warmup = 2;
    a.batch_reps = 1;
  }
  if (n) a.n = *n;
  if (d) a.dims = {*d};
  if (queries) a.queries = *queries;
  if (k) a.k = *k;
  if (single) a.single = *single;
  if (threads) {
    if (*threads > static_cast<size_t>(INT_MAX)) usage_error("--threads is too large");
    a.threads = static_cast<int>(*threads);
  }
  if (a.k > a.n) usage_error("--k " + std::to_string(a.k) + " exceeds --n " + std::to_string(a.n));
  return a;
}

// The BLAS library this process actually loaded (Debian picks it through alternatives), which
// decides Faiss's batch speed.
std::string loaded_blas() {
  std::string found;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) {
        const char* name = info->dlpi_name;
        if (name && std::strstr(name, "blas")) {
          char real[PATH_MAX];
          auto& s = *static_cast<std::string*>(out);
          if (!s.empty()) s += ", ";
          s += realpath(name, real) ? real : name;
        }
        return 0;
      },
      &found);
  return found.empty() ? "none loaded (statically linked?)" : found;
}

// Let the other library's idle workers (OpenMP or TBB spin-waiting after a parallel region)
// go to sleep before the next measurement.
void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(200)); }

struct Results {
  std::vector<int64_t> ids;
  std::vector<float> scores;
  std::vector<double> latency;  // seconds per single query, after warm-up
  double batch_s = 0;           // best batch time
};

// Runs the protocol for one library: `warmup + single` single queries (query i % nq), then the
// whole batch `reps` times. Keeps the single-query results of queries [0, single) in
// single_ids/single_scores and the batch results in ids/scores.
template <class Search>
void measure(const Args& a, const Matrix& q, Search&& search, Results& batch, Results& single) {
  const size_t nq = q.rows(), k = a.k;
  single.ids.assign(a.single * k, -1);
  single.scores.assign(a.single * k, 0.0f);
  std::vector<int64_t> ids(k);
  std::vector<float> scores(k);
  for (size_t i = 0; i < a.warmup + a.single; ++i) {
    const size_t qi = i % nq;
    auto t0 = clk::now();
    search(q.row(qi), size_t{1}, ids.data(), scores.data());
    const double t = since(t0);
    if (i < a.warmup) continue;
    single.latency.push_back(t);
    const size_t slot = i - a.warmup;
    std::copy(ids.begin(), ids.end(), single.ids.begin() + slot * k);
    std::copy(scores.begin(), scores.end(), single.scores.begin() + slot * k);
  }
  batch.ids.assign(nq * k, -1);
  batch.scores.assign(nq * k, 0.0f);
  batch.batch_s = 1e30;
  for (int r = 0; r < a.batch_reps; ++r) {
    auto t0 = clk::now();
    search(q.data(), nq, batch.ids.data(), batch.scores.data());
    batch.batch_s = std::min(batch.batch_s, since(t0));
  }
}

// Query of single-query slot `slot` (see measure()).
size_t single_query_index(const Args& a, size_t slot, size_t nq) { return (a.warmup + slot) % nq; }

bool close(double x, double y, double rel) {
  return std::fabs(x - y) <= rel * std::max({std::fabs(x), std::fabs(y), 1e-30});
}

struct Agreement {
  size_t queries = 0;
  size_t differing_ids = 0;  // ids in one top-k and not the other, all explained by equal scores
  size_t real = 0;           // ids or scores that no tie explains
  std::string first_problem;
};

// Compares two top-k answers for query vector `qv`, with each id's score recomputed in double
// precision. An id may be in one set and not the other only if its exact score equals (within
// `rel`) the other set's k-th score: a tie at the boundary. Reported scores must match the
// exact score within `rel` too.
void compare(const Matrix& cand, const float* qv, size_t k, const int64_t* ia, const float* sa, const int64_t* ib,
             const float* sb, size_t query, Agreement& ag) {
  const double rel = 1e-5;
  const size_t n = cand.rows(), d = cand.cols();
  auto exact = [&](int64_t id) {
    double s = 0;
    const float* c = cand.row(static_cast<size_t>(id));
    for (size_t j = 0; j < d; ++j) s += static_cast<double>(qv[j]) * c[j];
    return s;
  };
  auto problem = [&](const std::string& what) {
    ++ag.real;
    if (ag.first_problem.empty()) ag.first_problem = "query " + std::to_string(query) + ": " + what;
  };
  ++ag.queries;
  std::unordered_set<int64_t> set_a, set_b;
  double kth_a = INFINITY, kth_b = INFINITY;
  for (int side = 0; side < 2; ++side) {
    const int64_t* ids = side ? ib : ia;
    const float* sc = side ? sb : sa;
    auto& set = side ? set_b : set_a;
    double& kth = side ? kth_b : kth_a;
    const char* who = side ? "faiss" : "twotower";
    for (size_t j = 0; j < k; ++j) {
      if (ids[j] < 0 || static_cast<size_t>(ids[j]) >= n) {
        problem(std::string(who) + " returned id " + std::to_string(ids[j]) + " at rank " + std::to_string(j));
        return;
      }
      if (!set.insert(ids[j]).second) problem(std::string(who) + " returned id " + std::to_string(ids[j]) + " twice");
      const double e = exact(ids[j]);
      if (!close(e, sc[j], rel))
        problem(std::string(who) + " reports score " + std::to_string(sc[j]) + " for id " + std::to_string(ids[j]) +
                ", exact " + std::to_string(e));
      kth = std::min(kth, e);
    }
  }
  for (int side = 0; side < 2; ++side) {
    const auto& mine = side ? set_b : set_a;
    const auto& other = side ? set_a : set_b;
    const double other_kth = side ? kth_a : kth_b;
    for (int64_t id : mine) {
      if (other.count(id)) continue;
      const double e = exact(id);
      if (close(e, other_kth, rel))
        ++ag.differing_ids;
      else
        problem(std::string(side ? "faiss" : "twotower") + " alone returns id " + std::to_string(id) + " (score " +
                std::to_string(e) + ", the other's k-th score " + std::to_string(other_kth) + ")");
    }
  }
}

void report_agreement(const char* what, const Agreement& ag) {
  std::printf("  agreement, %-13s %zu queries: %zu real mismatches, %zu ids swapped between equal scores\n", what,
              ag.queries, ag.real, ag.differing_ids);
  if (ag.real) std::printf("    first: %s\n", ag.first_problem.c_str());
}

// Returns false if the libraries disagree.
bool run(const Args& a, size_t d, ThreadPool& pool, double bw, double gflops) {
  const size_t n = a.n, nq = a.queries, k = a.k;
  SyntheticSet data = make_synthetic(n, d, nq);
  const Matrix& q = data.queries;

  // Faiss copies the vectors into its own storage; twotower then takes the matrix.
  faiss::IndexFlatIP flat(static_cast<faiss::Index::idx_t>(d));
  flat.add(static_cast<faiss::Index::idx_t>(n), data.candidates.data());
  CandidateIndex idx(std::vector<std::string>(n), std::move(data.candidates));
  const Matrix& cand = idx.embeddings();

  SearchOptions so;
  so.k = k;
  Results tt_batch, tt_single, fa_batch, fa_single;
  settle();
  measure(
      a, q, [&](const float* x, size_t m, int64_t* ids, float* scores) { idx.search(x, m, so, ids, scores, pool); },
      tt_batch, tt_single);
  settle();
  pool.with_omp([&] {  // Faiss and its BLAS on an OpenMP team of the same size
    measure(
        a, q,
        [&](const float* x, size_t m, int64_t* ids, float* scores) {
          flat.search(static_cast<faiss::Index::idx_t>(m), x, static_cast<faiss::Index::idx_t>(k), scores, ids);
        },
        fa_batch, fa_single);
  });

  Agreement ag_batch, ag_single;
  for (size_t i = 0; i < nq; ++i)
    compare(cand, q.row(i), k, tt_batch.ids.data() + i * k, tt_batch.scores.data() + i * k, fa_batch.ids.data() + i * k,
            fa_batch.scores.data() + i * k, i, ag_batch);
  for (size_t s = 0; s < a.single; ++s) {
    const size_t qi = single_query_index(a, s, nq);
    compare(cand, q.row(qi), k, tt_single.ids.data() + s * k, tt_single.scores.data() + s * k,
            fa_single.ids.data() + s * k, fa_single.scores.data() + s * k, qi, ag_single);
  }

  const double read_bound = static_cast<double>(n * d * sizeof(float)) / (bw * 1e9);
  const double gemm_bound = 2.0 * static_cast<double>(n) * d * nq / (gflops * 1e9);
  const double tt50 = percentile(tt_single.latency, 0.5), tt99 = percentile(tt_single.latency, 0.99);
  const double fa50 = percentile(fa_single.latency, 0.5), fa99 = percentile(fa_single.latency, 0.99);
  std::printf("%zu candidates, d = %zu, top-%zu, %d threads\n", n, d, k, pool.threads());
  std::printf("  %-30s %12s %12s %10s %12s %14s\n", "", "twotower", "faiss", "speed-up", "bound",
              "tt / faiss vs bound");
  auto line = [](const char* what, double t, double f, double bound, const char* unit, double scale) {
    std::printf("  %-30s %9.2f %-2s %9.2f %-2s %9.2fx %9.2f %-2s %6.2fx %6.2fx\n", what, t * scale, unit, f * scale,
                unit, f / t, bound * scale, unit, t / bound, f / bound);
  };
  line(("single query p50 (" + std::to_string(a.single) + ")").c_str(), tt50, fa50, read_bound, "ms", 1e3);
  line("single query p99", tt99, fa99, read_bound, "ms", 1e3);
  line(("batch of " + std::to_string(nq) + " (best of " + std::to_string(a.batch_reps) + ")").c_str(), tt_batch.batch_s,
       fa_batch.batch_s, gemm_bound, "ms", 1e3);
  std::printf("  %-30s %12.0f %12.0f   (queries/s)\n", "batch throughput", nq / tt_batch.batch_s,
              nq / fa_batch.batch_s);
  report_agreement("batch,", ag_batch);
  report_agreement("single,", ag_single);
  std::printf("\n");
  return ag_batch.real == 0 && ag_single.real == 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  try {
    ThreadPool pool(a.threads);
    // In a smoke run the limits are measured on smaller buffers: still printed, not meaningful.
    const double bw = a.quick ? read_bandwidth_gbs(pool, size_t{64} << 20) : read_bandwidth_gbs(pool);
    const double gflops = a.quick ? sgemm_gflops(pool, 512) : sgemm_gflops(pool);
    print_isa();
    std::printf("machine now: read bandwidth %.1f GB/s, sgemm %.0f GFLOP/s on %d threads%s\n", bw, gflops,
                pool.threads(), a.quick ? " (--quick: small buffers, not meaningful)" : "");
    std::printf("Faiss %d.%d.%d (%s), BLAS: %s\n", FAISS_VERSION_MAJOR, FAISS_VERSION_MINOR, FAISS_VERSION_PATCH,
                faiss::get_compile_options().c_str(), loaded_blas().c_str());
    std::printf(
        "speed-up = faiss time / twotower time (> 1: twotower faster); read bound = n*d*4 bytes / read "
        "bandwidth; GEMM bound = 2*n*d*queries / sgemm rate\n\n");
    bool agree = true;
    for (size_t d : a.dims) agree = run(a, d, pool, bw, gflops) && agree;
    if (!agree) {
      std::fprintf(stderr, "bench_faiss: twotower and Faiss disagree on some top-%zu sets (see above)\n", a.k);
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_faiss: %s\n", e.what());
    return 1;
  }
}
