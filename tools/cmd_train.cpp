// `twotower train`: fit the preprocessing, train, evaluate, print the results.
#include <cstdio>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <optional>

#include "base/atomic_file.h"
#include "base/error.h"
#include "cli.h"
#include "data/columnar.h"
#include "model/fit.h"
#include "model/streamed_fit.h"
#include "persist/model_serialization.h"
#ifdef TT_WITH_MPI
#include <mpi.h>

#include "dist/distributed_fit.h"
#endif

namespace tt::cli {

namespace {

struct TrainFlags {
  std::string spec;
  std::string init_from;  // warm start from this model file
  bool reset = false;     // with init_from: its spec, preprocessing and weights fitted anew
  DataFlags data;
  size_t epochs = 0;
  uint64_t seed = 0;
  int threads = 0;
  std::string history;
  std::string save;
  int compression = 3;
  bool with_optimizer = false;
  bool quiet = false;
  double max_unknown_candidates = -1;  // < 0: the spec's
  size_t order_ranks = 1;
  bool refit = false;  // training.refit_after_validation
  bool distributed = false;
  size_t shuffle_buffer = 0;  // > 0: stream the columnar --interactions file (docs/data-format.md)
  uint64_t memory_limit = 0;  // > 0: stream it with the buffer this many bytes leave
};

// Trains in this process, or as one rank of `mpirun -np N twotower train --distributed`.
using FitFunction = std::function<FitResult(const ModelSpec&, const Dataset&, const TrainOptions&)>;
// A distributed run whose ranks each read their share of a columnar --interactions file.
using FileFitFunction =
    std::function<FitResult(const ModelSpec&, const std::string& interactions, const Table&, const TrainOptions&)>;

// --distributed with a columnar --interactions file: each rank holds only its rows.
bool by_rank_share(const TrainFlags& f) {
  return f.distributed && !f.data.interactions.empty() && is_columnar_file(f.data.interactions);
}

// Streaming reads a columnar interactions file with its catalogue, in one process, from scratch.
void check_streaming_flags(const TrainFlags& f) {
  const std::string flag = f.shuffle_buffer ? "--shuffle-buffer" : "--memory-limit";
  if (f.data.interactions.empty() || f.data.candidates.empty())
    fail(ErrorKind::invalid_argument, flag + " streams --interactions (a columnar file) with --candidates");
  if (!is_columnar_file(f.data.interactions))
    fail(ErrorKind::invalid_argument, flag + " streams a columnar file, and " + f.data.interactions +
                                          " is not one: convert it first (twotower data convert " +
                                          f.data.interactions + " -o FILE.ttc --spec SPEC)");
  if (!f.init_from.empty() && !f.reset)
    fail(ErrorKind::invalid_argument, flag + " trains a new model: use --spec (or --reset), not a warm start");
  if (f.distributed || f.order_ranks != 1)
    fail(ErrorKind::invalid_argument, flag + " trains in one process (no --distributed or --order-ranks)");
  if (f.data.skip_unknown_candidates)
    fail(ErrorKind::invalid_argument,
         "--skip-unknown-candidates is not supported with " + flag + ": every id must be in the catalogue");
}

void run(const TrainFlags& f, CLI::App* cmd, const FitFunction& fit_model, bool lead,
         const FileFitFunction& fit_file = {}) {
  // Where the results go is checked before training, not found wanting after it.
  if (lead && !f.save.empty()) check_writable_path(f.save, "--save");
  if (lead && !f.history.empty()) check_writable_path(f.history, "--history");
  if (f.spec.empty() == f.init_from.empty())
    fail(ErrorKind::invalid_argument,
         "train needs --spec (a new model) or --init-from (continue a saved one), not both");
  if (f.reset && f.init_from.empty()) fail(ErrorKind::invalid_argument, "--reset goes with --init-from");
  if (!f.init_from.empty() && !f.reset && (f.max_unknown_candidates >= 0 || f.refit))
    fail(ErrorKind::invalid_argument, std::string(f.refit ? "--refit-after-validation" : "--max-unknown-candidates") +
                                          " changes the spec, which a warm start keeps: use it with --spec or --reset");
  if (!f.init_from.empty() && !f.reset && f.distributed)
    fail(ErrorKind::invalid_argument, "--init-from continues training in one process; --distributed needs --spec");
  // Warm start: the saved model's spec, preprocessing, weights, optimizer state (if saved with
  // --with-optimizer) and shuffling stream carry on; --reset keeps only its spec.
  std::optional<RetrievalModel> start;
  if (!f.init_from.empty()) start.emplace(load_model(f.init_from));
  ModelSpec spec = start ? start->model().spec() : ModelSpec::from_file(f.spec);
  if (f.reset) start.reset();
  if (f.max_unknown_candidates >= 0) spec.data.max_unknown_candidates = f.max_unknown_candidates;
  if (f.refit) {
    if (spec.training.patience == 0)
      fail(ErrorKind::invalid_argument,
           "--refit-after-validation needs the epoch chosen by early stopping: training.patience > 0 and "
           "data.validation_rows in the spec");
    spec.training.refit_after_validation = true;
  }
  // Streaming (--shuffle-buffer): the interactions stay in their columnar file; only the
  // catalogue is loaded here.
  const bool streamed = f.shuffle_buffer > 0 || f.memory_limit > 0;
  if (streamed) check_streaming_flags(f);
  const bool shared = fit_file && by_rank_share(f);
  if (shared && (f.data.candidates.empty() || f.data.skip_unknown_candidates))
    fail(ErrorKind::invalid_argument,
         "--distributed with a columnar --interactions file needs --candidates (and "
         "every id in the catalogue: no --skip-unknown-candidates)");
  Dataset d;
  if (streamed || shared) {
    d.candidates = read_catalogue(f.data.candidates, spec);
    d.source = f.data.interactions + " + " + f.data.candidates;
  } else {
    d = f.data.load(&spec);
    // fit_retrieval_model checks again; here the warnings come before the training, not after it.
    for (const auto& w : check_training_data(spec, d)) std::cerr << "twotower: warning: " << w << "\n";
  }
  const size_t test_rows = spec.data.test_rows;
  const size_t val_rows = spec.data.validation_rows;
  const size_t all_rows =
      streamed || shared ? ColumnarFile::open(f.data.interactions).num_rows() : d.interactions.num_rows();
  const size_t train_rows = (spec.data.train_rows ? spec.data.train_rows : all_rows - test_rows) - val_rows;

  TrainOptions opt;
  opt.epochs = f.epochs;
  opt.threads = f.threads;
  opt.order_ranks = f.order_ranks;
  if (cmd->count("--seed")) {
    opt.seed = f.seed;
    opt.seed_set = true;
  }
  const size_t epochs = f.epochs ? f.epochs : spec.training.epochs;
  const bool quiet = f.quiet || !lead;
  // mpirun gives ranks a terminal even when its own output is a file: no progress bar there.
  const bool tty = stdout_is_terminal() && !quiet && !f.distributed;
  if (lead) {
    std::cout << (start ? "continuing " : "training ") << spec.name << " on " << train_rows << " interactions ("
              << test_rows << " held out"
              << (val_rows ? ", " + std::to_string(val_rows) + " for validation" : std::string()) << ", "
              << d.candidates.num_rows() << " candidates), " << epochs << " epochs";
    if (streamed && f.shuffle_buffer)
      std::cout << ", streamed with a shuffle buffer of " << f.shuffle_buffer << " rows";
    if (streamed && !f.shuffle_buffer) std::cout << ", streamed";
    if (f.memory_limit) std::cout << " within a memory limit of " << f.memory_limit << " bytes";
    if (d.skipped_unknown_candidates)
      std::cout << "; " << d.skipped_unknown_candidates << " interactions left out (candidate id not in the catalogue)";
    std::cout << "\n" << std::flush;
  }
  bool refit_announced = false;
  opt.on_progress = [&](const TrainProgress& p) {
    if (p.refit && !refit_announced && !quiet) {
      refit_announced = true;
      if (tty) std::printf("\r%60s\r", "");
      std::printf("refit: %zu epochs (chosen on the validation rows) on the %zu training + validation rows\n", p.epochs,
                  train_rows + val_rows);
    }
    if (tty && !p.record) {
      const int width = 30;
      const int done = static_cast<int>(width * p.batch / p.batches);
      std::printf("\repoch %zu/%zu [%s%s] %zu/%zu", p.epoch, p.epochs, std::string(done, '#').c_str(),
                  std::string(width - done, ' ').c_str(), p.batch, p.batches);
      std::fflush(stdout);
    }
    if (p.record && (p.record->metrics || p.record->validation_metrics) && !quiet) {
      if (tty) std::printf("\r%60s\r", "");
      // The selection run of a refit evaluates the validation rows only.
      std::printf("epoch %4zu  loss %.4f  %s  (%.2fs + eval %.3fs)\n", p.epoch, p.record->mean_loss,
                  p.record->metrics ? metrics_line(*p.record->metrics).c_str() : "", p.record->seconds,
                  p.record->eval_seconds);
      if (p.record->validation_metrics)
        std::printf("     validation  %s\n", metrics_line(*p.record->validation_metrics).c_str());
      std::fflush(stdout);
    }
    return true;
  };
  FitResult fit;
  if (streamed) {
    StreamOptions so;
    so.shuffle_buffer_rows = f.shuffle_buffer;
    so.memory_limit_bytes = f.memory_limit;
    MemoryPlan plan;
    so.plan = &plan;
    fit = fit_streamed(spec, f.data.interactions, d.candidates, opt, so);
    if (f.memory_limit && !quiet) std::cout << "memory: " << plan.describe() << "\n";
    for (const auto& w : fit.warnings) std::cerr << "twotower: warning: " << w << "\n";
  } else if (shared) {
    fit = fit_file(spec, f.data.interactions, d.candidates, opt);
    if (lead)
      for (const auto& w : fit.warnings) std::cerr << "twotower: warning: " << w << "\n";
  } else {
    fit = start ? continue_fit(*start, d, opt) : fit_model(spec, d, opt);
  }
  if (!lead) return;
  const RetrievalModel& trained = start ? *start : *fit.model;
  const TrainResult& r = fit.training;
  if (tty) std::printf("\r%60s\r", "");
  std::cout << "done in " << std::fixed << std::setprecision(1) << r.seconds << " s (" << std::setprecision(3)
            << r.seconds / static_cast<double>(std::max<size_t>(1, r.history.size())) << " s/epoch incl. evaluation)\n";
  if (r.best_epoch && !r.selection_history.empty())
    std::cout << "chose epoch " << r.best_epoch << " (best top-" << spec.training.early_stopping_k
              << " on the validation rows" << (r.stopped_early ? ", stopped early" : "")
              << "); refit from the start on the training and validation rows for " << r.best_epoch << " epochs\n";
  else if (r.best_epoch)
    std::cout << (r.stopped_early ? "stopped early; " : "") << "kept the weights of epoch " << r.best_epoch
              << " (best top-" << spec.training.early_stopping_k << " on the validation rows)\n";
  if (r.final_metrics) {
    std::cout << "final: " << metrics_line(*r.final_metrics) << "\n";
    std::cout << baseline_lines(*r.final_metrics);
  }
  std::cout << "mean per-example training loss of the last epoch: " << std::setprecision(4)
            << r.history.back().mean_loss << "\n";
  // The model first: it is what a failure afterwards must not cost.
  if (!f.save.empty()) {
    SaveOptions so;
    so.compression_level = f.compression;
    so.include_optimizer = f.with_optimizer;
    save_model(f.save, trained, so);
    std::cout << "model saved to " << f.save << "\n";
  }
  if (!f.history.empty()) {
    const bool json = f.history.size() > 5 && f.history.substr(f.history.size() - 5) == ".json";
    write_file_atomically(f.history, json ? history_json(r) : history_csv(r));
    std::cout << "history written to " << f.history << "\n";
  }
}

#ifdef TT_WITH_MPI
// One rank of a distributed run: rank 0 reports and saves. A failure on any rank ends the whole
// job (MPI_Abort), so no rank is left waiting in a collective.
void run_distributed(const TrainFlags& f, CLI::App* cmd) {
  if (cmd->count("--order-ranks"))
    fail(ErrorKind::invalid_argument, "--order-ranks is for a single process; --distributed takes the job's ranks");
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  try {
    dist::Communicator comm(MPI_COMM_WORLD, dist::timeout_from_environment(300.0));
    dist::DistributedStats stats;
    auto fit = [&](const ModelSpec& spec, const Dataset& data, const TrainOptions& opt) {
      return dist::fit_distributed(spec, data, opt, comm, &stats);
    };
    auto fit_file = [&](const ModelSpec& spec, const std::string& path, const Table& catalogue,
                        const TrainOptions& opt) {
      return dist::fit_distributed_file(spec, path, catalogue, opt, comm, &stats);
    };
    run(f, cmd, fit, rank == 0, fit_file);
    // What this rank held: the whole table, or (a columnar --interactions file) its share.
    if (!f.quiet)
      std::printf("rank %d held %zu interaction rows in memory; trained on %zu, evaluated %zu\n", rank, stats.rows_held,
                  stats.rank_train_rows, stats.rank_test_rows);
    if (rank == 0 && !f.quiet)
      std::printf("%d ranks: %zu steps, %.1f%% of the training time in communication, %.2f MB sent per step\n",
                  stats.ranks, stats.steps, 100.0 * stats.exchange_seconds / std::max(1e-9, stats.train_seconds),
                  static_cast<double>(stats.bytes_sent) / 1e6 / static_cast<double>(std::max<size_t>(1, stats.steps)));
  } catch (const std::exception& e) {
    // Messages from the exchange name their rank already.
    const bool named = std::string_view(e.what()).starts_with("rank ");
    std::fprintf(stderr, "twotower: error: %s%s\n", named ? "" : ("rank " + std::to_string(rank) + ": ").c_str(),
                 e.what());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
}
#endif

}  // namespace

void register_train(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  auto* cmd = app.add_subcommand("train", "train a model from a spec and report FactorizedTopK accuracy");
  cmd->add_option("--spec", f->spec, "model spec (JSON), e.g. samples/movielens/deep-32.json");
  cmd->add_option("--init-from", f->init_from,
                  "continue training this model file (warm start: weights, vocabularies, and the optimizer state "
                  "and shuffling if it was saved --with-optimizer); instead of --spec");
  cmd->add_flag("--reset", f->reset, "with --init-from: use only its spec, fitting and initialising anew");
  f->data.add_to(*cmd);
  add_number_option<size_t>(*cmd, "--epochs", f->epochs, 1, kMaxEpochs, "epochs (default: the spec's)");
  add_number_option<uint64_t>(*cmd, "--seed", f->seed, 0, UINT64_MAX,
                              "seed for shuffling the epochs (default: the spec's)");
  add_threads_option(*cmd, f->threads);
  cmd->add_option("--history", f->history, "write per-epoch loss and metrics (.csv or .json)");
  cmd->add_option("--save", f->save, "save the trained model (and its candidate index) to this file");
  add_number_option(*cmd, "--compression", f->compression, 0, 19, "zstd level for --save (0: uncompressed .. 19)");
  cmd->add_flag("--with-optimizer", f->with_optimizer, "also save the optimizer state (a checkpoint)");
  cmd->add_flag("--quiet", f->quiet, "print only the summary");
  add_real_option(*cmd, "--max-unknown-candidates", f->max_unknown_candidates, 0.0, 1.0,
                  "share of interactions whose candidate id may be absent from the catalogue before training is "
                  "refused (default: the spec's data.max_unknown_candidates, 0.01)");
  cmd->add_flag("--refit-after-validation", f->refit,
                "once early stopping has chosen the epoch on the validation rows, train again from the start on the "
                "training and validation rows for that many epochs (training.refit_after_validation)");
  add_number_option<size_t>(*cmd, "--order-ranks", f->order_ranks, 1, kMaxBatchSize,
                            "shuffle as a run of N ranks does (the single-process twin of mpirun -np N ... "
                            "--distributed; docs/distributed.md)");
  add_number_option<size_t>(*cmd, "--shuffle-buffer", f->shuffle_buffer, 1, SIZE_MAX / 2,
                            "stream the columnar --interactions file instead of loading it, holding at most this many "
                            "training rows (shuffled in blocks, then N rows at a time; memory independent of the "
                            "file's rows; docs/data-format.md)");
  add_byte_size_option(*cmd, "--memory-limit", f->memory_limit, 1,
                       "stream the columnar --interactions file keeping the peak resident set under SIZE (e.g. 4GiB, "
                       "512M): the shuffle buffer is what the model, optimizer, catalogue and held-out rows leave; "
                       "refused when that is less than one batch (with --shuffle-buffer: less than that buffer)");
#ifdef TT_WITH_MPI
  cmd->add_flag("--distributed", f->distributed,
                "train as one rank of an MPI job: mpirun -np N twotower train --distributed ... "
                "(docs/distributed.md)");
#endif
  cmd->callback([f, cmd] {
    if (!f->distributed) return run(*f, cmd, fit_retrieval_model, true);
#ifdef TT_WITH_MPI
    run_distributed(*f, cmd);
#endif
  });
}

}  // namespace tt::cli
