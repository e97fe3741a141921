// Training throughput on the reference workload: seconds per epoch and achieved GFLOP/s for each
// configuration, evaluation (every 5 epochs) timed separately. Each configuration runs twice in
// the same process: as shipped (each distinct candidate of a batch scored once) and with one
// score column per example, as TFRS computes it (the baseline); the ratio is printed.
// GFLOP/s counts the one-column-per-example work for both, so it is an equivalent rate.
// Usage: bench_training [--data DIR] [--epochs N] [--threads T] [--no-baseline] [--spec a.json ...]
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "data/locate.h"
#include "model/dataset.h"
#include "model/trainer.h"
#include "model/two_tower_model.h"

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

int main(int argc, char** argv) {
  std::string data;
  size_t epochs = 20;
  int threads = 0;
  std::vector<std::string> specs;
  bool baseline = true;
  for (int i = 1; i < argc; ++i) {
    auto arg = [&](const char* name) { return std::strcmp(argv[i], name) == 0 && i + 1 < argc; };
    if (arg("--data")) data = argv[++i];
    else if (arg("--epochs")) epochs = std::stoul(argv[++i]);
    else if (arg("--threads")) threads = std::stoi(argv[++i]);
    else if (arg("--spec")) specs.push_back(argv[++i]);
    else if (std::strcmp(argv[i], "--no-baseline") == 0) baseline = false;
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
  std::printf("%-22s %-9s %6s %9s %8s %8s %11s %8s %8s\n", "config", "columns", "epochs", "s/epoch", "eval s",
              "GFLOP/s", "300 ep. est", "top-100", "speed-up");
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
      std::printf("%-22s %-9s %6zu %9.4f %8.4f %8.1f %10.1fs %8.4f %8s\n", spec.name.c_str(),
                  grouped ? "distinct" : "per-row", epochs, per_epoch, per_eval, gflops, est300,
                  r.final_metrics ? r.final_metrics->at(100) : 0.0, ratio);
      std::fflush(stdout);
    }
  }
  return 0;
}
