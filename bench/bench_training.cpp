// Training throughput on the reference workload: seconds per epoch and achieved GFLOP/s for each
// configuration, evaluation (every 5 epochs) timed separately. Each configuration runs twice in
// the same process: as shipped (each distinct candidate of a batch scored once) and with one
// score column per example, as TFRS computes it (the baseline); the ratio is printed.
// GFLOP/s counts the one-column-per-example work for both, so it is an equivalent rate.
// The floor, measured in the same run: an epoch of the same matrix products alone (the loss's
// three B x C x d GEMMs, C = the batch's distinct candidates, and every dense layer's three
// GEMMs) on the same threads with the same row split; "GEMM share" is floor / epoch.
// Usage: bench_training [--data DIR] [--epochs N] [--threads T] [--no-baseline] [--spec a.json ...]
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <chrono>
#include <unordered_set>

#include "base/parallel.h"
#include "base/random.h"
#include "bench_common.h"
#include "data/locate.h"
#include "model/dataset.h"
#include "model/trainer.h"
#include "model/two_tower_model.h"
#include "nn/gemm.h"
#include "nn/matrix.h"

using namespace tt;

// Multiply-adds count twice. Per batch of B: the B x B score GEMM and its two gradient GEMMs
// (6 B² d), and per dense layer forward, backward-data and backward-weights (6 B in out).
static double flops_per_epoch(const TwoTowerModel& m, size_t n, size_t batch) {
  double f = 0;
  for (size_t b0 = 0; b0 < n; b0 += batch) {
    const double B = static_cast<double>(std::min(batch, n - b0));
    f += 6.0 * B * B * static_cast<double>(m.embedding_dim());
    for (const Tower* t : {&m.query(), &m.candidate()}) {
      size_t in = t->input_dim();
      for (size_t out : t->spec().layers) {
        f += 6.0 * B * static_cast<double>(in) * static_cast<double>(out);
        in = out;
      }
    }
  }
  return f;
}

// Distinct candidates per batch of one shuffled epoch (the count the trainer's grouping sees).
static std::vector<size_t> distinct_per_batch(const Table& train, const std::string& id_column, size_t batch,
                                              uint64_t seed) {
  const Column& ids = train.column(id_column);
  Rng rng(seed);
  const std::vector<size_t> order = permutation(train.num_rows(), rng);
  std::vector<size_t> out;
  for (size_t b0 = 0; b0 < order.size(); b0 += batch) {
    std::unordered_set<std::string> seen;
    for (size_t i = b0; i < std::min(order.size(), b0 + batch); ++i)
      seen.insert(ids.dtype() == DType::string ? ids.strings()[order[i]] : std::to_string(ids.ints()[order[i]]));
    out.push_back(seen.size());
  }
  return out;
}

// Seconds for one epoch of the training step's matrix products alone.
static double gemm_only_epoch(const TwoTowerModel& m, size_t n, size_t batch, const std::vector<size_t>& distinct,
                              int threads) {
  ThreadPool pool(threads);
  // The trainer's split: pool.parts(rows, 128) shares per batch (model/trainer.cpp).
  const size_t most = pool.parts(batch, 128), d = m.embedding_dim(), block = 128;
  size_t shares = most;
  const long ld = static_cast<long>(d);
  size_t widest = d;
  for (const Tower* t : {&m.query(), &m.candidate()}) {
    widest = std::max(widest, t->input_dim());
    for (size_t out : t->spec().layers) widest = std::max(widest, out);
  }
  Matrix q(batch, d), c(batch, d), x(batch, widest), w(widest, widest);
  std::vector<Matrix> s(most, Matrix(block, batch)), dq(most, Matrix(block, d)), dc(most, Matrix(d, batch)),
      y(most, Matrix(batch, widest)), dw(most, Matrix(widest, widest)), dx(most, Matrix(batch, widest));
  for (Matrix* a : {&q, &c, &x, &w}) a->zero();
  auto run = [&](size_t rows, size_t cols, size_t share) {  // one share of one batch
    const size_t r0 = rows * share / shares, r1 = rows * (share + 1) / shares;
    for (size_t b = r0; b < r1; b += block) {
      const long br = static_cast<long>(std::min(block, r1 - b)), bc = static_cast<long>(cols);
      sgemm(false, true, br, bc, ld, 1.0f, q.row(b), ld, c.data(), ld, 0.0f, s[share].data(), bc);
      sgemm(false, false, br, ld, bc, 1.0f, s[share].data(), bc, c.data(), ld, 0.0f, dq[share].data(), ld);
      sgemm(true, false, ld, bc, br, 1.0f, q.row(b), ld, s[share].data(), bc, 1.0f, dc[share].data(), bc);
    }
  };
  auto towers = [&](size_t rows_q, size_t rows_c, size_t share, bool forward) {
    for (auto [t, rows] : {std::pair{&m.query(), rows_q}, std::pair{&m.candidate(), rows_c}}) {
      const long r = static_cast<long>(rows * (share + 1) / shares - rows * share / shares);
      long in = static_cast<long>(t->input_dim());
      for (size_t out_size : t->spec().layers) {
        const long out = static_cast<long>(out_size);
        if (forward) {
          sgemm(false, false, r, out, in, 1.0f, x.data(), in, w.data(), out, 1.0f, y[share].data(), out);
        } else {
          sgemm(true, false, in, out, r, 1.0f, x.data(), in, y[share].data(), out, 0.0f, dw[share].data(), out);
          sgemm(false, true, r, in, out, 1.0f, y[share].data(), out, w.data(), out, 0.0f, dx[share].data(), in);
        }
        in = out;
      }
    }
  };
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t b0 = 0, i = 0; b0 < n; b0 += batch, ++i) {
    const size_t rows = std::min(batch, n - b0), cols = std::min(distinct[i], rows);
    shares = pool.parts(rows, 128);
    pool.for_each(shares, [&](size_t sh) { towers(rows, cols, sh, true); });
    pool.for_each(shares, [&](size_t sh) { run(rows, cols, sh); });
    pool.for_each(shares, [&](size_t sh) { towers(rows, cols, sh, false); });
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int main(int argc, char** argv) {
  std::string data;
  size_t epochs = 20;
  int threads = 0;
  std::vector<std::string> specs;
  bool baseline = true;
  for (int i = 1; i < argc; ++i) {
    auto arg = [&](const char* name) { return std::strcmp(argv[i], name) == 0 && i + 1 < argc; };
    if (arg("--data"))
      data = argv[++i];
    else if (arg("--epochs"))
      epochs = std::stoul(argv[++i]);
    else if (arg("--threads"))
      threads = std::stoi(argv[++i]);
    else if (arg("--spec"))
      specs.push_back(argv[++i]);
    else if (std::strcmp(argv[i], "--no-baseline") == 0)
      baseline = false;
    else {
      std::fprintf(stderr, "usage: %s [--data DIR] [--epochs N] [--threads T] [--no-baseline] [--spec FILE]...\n",
                   argv[0]);
      return 2;
    }
  }
  if (specs.empty())
    for (const char* s : {"deep-32", "deep-64-32", "deep-128-64-32"})
      specs.push_back(std::string(TT_SOURCE_DIR) + "/samples/movielens/" + s + ".json");

  Dataset d = load_movielens_dataset(locate_movielens(data, TT_SOURCE_DIR));
  tt::bench::print_isa();
  std::printf("%-22s %-9s %6s %9s %8s %8s %11s %8s %8s %11s %6s\n", "config", "columns", "epochs", "s/epoch", "eval s",
              "GFLOP/s", "300 ep. est", "top-100", "speed-up", "GEMM floor", "share");
  for (const auto& path : specs) {
    ModelSpec spec = ModelSpec::from_file(path);
    Split split = split_for_spec(d.interactions, spec.data);
    double baseline_epoch = 0.0;
    for (bool grouped : {false, true}) {
      if (!grouped && !baseline) continue;
      TwoTowerModel model(spec);
      model.fit_preprocessing(d.interactions, d.candidates);
      model.initialize(spec.training.seed);
      TrainOptions opt;
      opt.epochs = epochs;
      opt.threads = threads;
      opt.group_repeated_candidates = grouped;
      TrainResult r = train_model(model, split.train, split.test, d.candidates, opt);
      double train_s = 0, eval_s = 0;
      size_t evals = 0;
      for (const auto& e : r.history) {
        train_s += e.seconds;
        eval_s += e.eval_seconds;
        evals += e.metrics.has_value();
      }
      const double per_epoch = train_s / static_cast<double>(epochs);
      const double per_eval = evals ? eval_s / static_cast<double>(evals) : 0.0;
      const double gflops = flops_per_epoch(model, split.train.num_rows(), spec.training.batch_size) / per_epoch / 1e9;
      const double est300 = 300 * per_epoch + 60 * per_eval;
      if (!grouped) baseline_epoch = per_epoch;
      char ratio[32] = "";
      if (grouped && baseline_epoch > 0) std::snprintf(ratio, sizeof ratio, "%.2fx", baseline_epoch / per_epoch);
      // The floor with this run's column counts: one per distinct candidate, or one per example.
      const size_t n = split.train.num_rows(), batch = spec.training.batch_size;
      std::vector<size_t> cols = distinct_per_batch(split.train, spec.candidate_id_column, batch, spec.training.seed);
      if (!grouped) std::fill(cols.begin(), cols.end(), batch);
      double floor = 1e30;
      for (int rep = 0; rep < 3; ++rep) floor = std::min(floor, gemm_only_epoch(model, n, batch, cols, threads));
      std::printf("%-22s %-9s %6zu %9.4f %8.4f %8.1f %10.1fs %8.4f %8s %10.4fs %5.0f%%\n", spec.name.c_str(),
                  grouped ? "distinct" : "per-row", epochs, per_epoch, per_eval, gflops, est300,
                  r.final_metrics ? r.final_metrics->at(100) : 0.0, ratio, floor, 100.0 * floor / per_epoch);
      std::fflush(stdout);
    }
  }
  return 0;
}
