// `twotower train`: fit the preprocessing, train, evaluate, print the results.
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "base/error.h"
#include "cli.h"
#include "model/trainer.h"
#include "model/two_tower_model.h"

namespace tt::cli {

namespace {

struct TrainFlags {
  std::string spec;
  DataFlags data;
  size_t epochs = 0;
  uint64_t seed = 0;
  int threads = 0;
  std::string history;
  bool quiet = false;
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) fail(ErrorKind::io, "cannot write '" + path + "'");
  out << text;
  if (!out.flush()) fail(ErrorKind::io, "failed writing '" + path + "'");
}

std::string metrics_line(const TopKMetrics& m) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(4);
  for (size_t i = 0; i < m.k.size(); ++i) o << (i ? "  " : "") << "top-" << m.k[i] << " " << m.accuracy[i];
  return o.str();
}

void run(const TrainFlags& f, CLI::App* cmd) {
  ModelSpec spec = ModelSpec::from_file(f.spec);
  Dataset d = f.data.load(&spec);
  Split split = split_for_spec(d.interactions, spec.data);
  TwoTowerModel model(spec);
  model.fit_preprocessing(d.interactions, d.candidates);
  model.initialize(spec.training.seed);

  TrainOptions opt;
  opt.epochs = f.epochs;
  opt.threads = f.threads;
  if (cmd->count("--seed")) { opt.seed = f.seed; opt.seed_set = true; }
  const size_t epochs = f.epochs ? f.epochs : spec.training.epochs;
  const bool tty = stdout_is_terminal() && !f.quiet;
  std::cout << "training " << spec.name << " on " << split.train.num_rows() << " interactions ("
            << split.test.num_rows() << " held out, " << d.candidates.num_rows() << " candidates), " << epochs
            << " epochs\n" << std::flush;
  opt.on_progress = [&](const TrainProgress& p) {
    if (tty && !p.record) {
      const int width = 30;
      const int done = static_cast<int>(width * p.batch / p.batches);
      std::printf("\repoch %zu/%zu [%s%s] %zu/%zu", p.epoch, p.epochs, std::string(done, '#').c_str(),
                  std::string(width - done, ' ').c_str(), p.batch, p.batches);
      std::fflush(stdout);
    }
    if (p.record && p.record->metrics && !f.quiet) {
      if (tty) std::printf("\r%60s\r", "");
      std::printf("epoch %4zu  loss %.4f  %s  (%.2fs + eval %.3fs)\n", p.epoch, p.record->mean_loss,
                  metrics_line(*p.record->metrics).c_str(), p.record->seconds, p.record->eval_seconds);
      std::fflush(stdout);
    }
    return true;
  };
  TrainResult r = train_model(model, split.train, split.test, d.candidates, opt);
  if (tty) std::printf("\r%60s\r", "");
  std::cout << "done in " << std::fixed << std::setprecision(1) << r.seconds << " s ("
            << std::setprecision(3) << r.seconds / static_cast<double>(std::max<size_t>(1, r.history.size()))
            << " s/epoch incl. evaluation)\n";
  if (r.final_metrics) std::cout << "final: " << metrics_line(*r.final_metrics) << "\n";
  std::cout << "mean per-example training loss of the last epoch: " << std::setprecision(4)
            << r.history.back().mean_loss << "\n";
  if (!f.history.empty()) {
    const bool json = f.history.size() > 5 && f.history.substr(f.history.size() - 5) == ".json";
    write_file(f.history, json ? history_json(r) : history_csv(r));
    std::cout << "history written to " << f.history << "\n";
  }
}

}  // namespace

void register_train(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  auto* cmd = app.add_subcommand("train", "train a model from a spec and report FactorizedTopK accuracy");
  cmd->add_option("--spec", f->spec, "model spec (JSON), e.g. samples/movielens/deep-32.json")->required();
  f->data.add_to(*cmd);
  cmd->add_option("--epochs", f->epochs, "epochs (default: the spec's)");
  cmd->add_option("--seed", f->seed, "seed for shuffling the epochs (default: the spec's)");
  cmd->add_option("--threads", f->threads, "threads (default: all cores)");
  cmd->add_option("--history", f->history, "write per-epoch loss and metrics (.csv or .json)");
  cmd->add_flag("--quiet", f->quiet, "print only the summary");
  cmd->callback([f, cmd] { run(*f, cmd); });
}

}  // namespace tt::cli
