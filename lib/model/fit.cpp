#include "model/fit.h"

#include <chrono>
#include <utility>

#include "base/parallel.h"
#include "base/version.h"
#include "data/history.h"
#include "model/candidate_inputs.h"

namespace tt {

namespace {

Table rank_range(const Table& t, const StepExchange& exchange) {
  const auto [first, last] = rank_rows(t.num_rows(), exchange.rank(), exchange.ranks());
  std::vector<size_t> rows(last - first);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = first + i;
  return t.take(rows);
}

void record_metadata(RetrievalModel& model, const Dataset& data, const TrainOptions& options, const TrainResult& r,
                     size_t epochs_before) {
  record_training_metadata(model, data.source,
                           table_fingerprint(data.interactions) + "-" + table_fingerprint(data.candidates), options, r,
                           epochs_before);
}

// The checks and the split both entry points start with; fills the row counts of `out`.
Split checked_split(const ModelSpec& spec, const Dataset& data, FitResult& out) {
  // Joined interactions need every candidate id in the catalogue (an unknown one has no
  // features): named by its row in the caller's table, before the split reorders the rows.
  // Empty tables are left to check_training_data, which says so.
  if (reads_catalogue(spec, data.interactions) && data.interactions.num_rows() && data.candidates.num_rows())
    (void)catalogue_rows(spec, data.interactions, data.candidates);
  out.warnings = check_training_data(spec, data);
  Split split = split_for_spec(data.interactions, spec.data);
  out.train_rows = split.train.num_rows();
  out.test_rows = split.test.num_rows();
  out.validation_rows = split.validation.num_rows();
  return split;
}

bool has_history(const ModelSpec& spec) { return !spec.data.history.column.empty(); }

// data.history: `rows` with the history column built from `known`, the rows of the run that
// meets them. Ties in time are not "before" (data/history.h), so a row is never in its own
// history, and held-out rows never are in `known`.
Table run_rows(const ModelSpec& spec, const Table& rows, const Table& known) {
  if (!has_history(spec) || rows.num_rows() == 0) return rows;
  return with_history(rows, known, spec.data.history);
}

// Trains `model` on the split. Distributed: every process has fitted the same preprocessing on
// all rows, and trains and evaluates on its rank's range of the training and test rows
// (validation rows are refused by train_model); the model file keeps the counts of all
// training rows.
TrainResult train_split(TwoTowerModel& model, const Split& split, const Dataset& data, const TrainOptions& options) {
  if (!options.exchange && has_history(model.spec())) {
    const RunTables t = run_tables(model.spec(), split, false);
    return train_model(model, t.train, t.validation, t.test, data.candidates, options);
  }
  if (!options.exchange) return train_model(model, split.train, split.validation, split.test, data.candidates, options);
  const Table train = rank_range(split.train, *options.exchange), test = rank_range(split.test, *options.exchange);
  TrainResult r = train_model(model, train, split.validation, test, data.candidates, options);
  const std::string& id = model.spec().candidate_id_column;
  if (split.train.has(id)) r.candidate_counts = count_candidates(split.train, id);
  return r;
}

// training.refit_after_validation, the "choose on validation, then refit" protocol: a first
// run on the training rows alone chooses the epoch by early stopping on the validation rows
// (the test rows are not evaluated in it, so they cannot choose anything); then `model` starts
// again from the weights, optimizer state and shuffling it had before that run and trains on the
// training and validation rows together for exactly that many epochs, with the same seed. The
// validation rows are the last of the training part (split_for_spec), so train + validation are
// the rows, in the order, of the same spec without validation rows: the refit is that run.
TrainResult train_and_refit(TwoTowerModel& model, const Split& split, const Dataset& data,
                            const TrainOptions& options) {
  if (!model.spec().training.refit_after_validation || options.exchange)
    return train_split(model, split, data, options);
  // data.history: the selection run's rows (training and validation) take their histories from
  // the training rows alone; the refit's, test rows included, from training + validation rows.
  TwoTowerModel start = model;
  const RunTables first = run_tables(model.spec(), split, false);
  TrainResult selection = train_model(model, first.train, first.validation, Table(), data.candidates, options);
  model = std::move(start);
  const RunTables second = run_tables(model.spec(), split, true);
  TrainOptions refit = options;
  refit.epochs = selection.best_epoch;
  if (options.on_progress)
    refit.on_progress = [&options](const TrainProgress& p) {
      TrainProgress q = p;
      q.refit = true;
      return options.on_progress(q);
    };
  TrainResult r = train_model(model, second.train, second.test, data.candidates, refit);
  r.best_epoch = selection.best_epoch;
  r.stopped_early = selection.stopped_early;
  r.selection_history = std::move(selection.history);
  r.seconds += selection.seconds;
  return r;
}

// The rows the final model of `spec` trains on: the training rows, and the validation rows too
// after a refit.
Table final_training_rows(const ModelSpec& spec, const Split& split) {
  Table rows = split.train;
  if (spec.training.refit_after_validation) rows.append(split.validation);
  return rows;
}

// fit_retrieval_model and continue_fit with data.history: in memory, in one process only.
void check_history_options(const ModelSpec& spec, const TrainOptions& options) {
  if (has_history(spec) && options.exchange)
    fail(ErrorKind::invalid_argument,
         "data.history is not supported with distributed training: each process would need every earlier row "
         "of its users");
}

}  // namespace

RunTables run_tables(const ModelSpec& spec, const Split& split, bool refit) {
  RunTables t;
  if (!refit) {
    t.train = run_rows(spec, split.train, split.train);
    t.validation = run_rows(spec, split.validation, split.train);
    t.test = run_rows(spec, split.test, split.train);
    return t;
  }
  Table rows = split.train;
  rows.append(split.validation);
  t.train = run_rows(spec, rows, rows);
  t.test = run_rows(spec, split.test, rows);
  return t;
}

Table final_test_rows(const ModelSpec& spec, const Split& split) {
  if (!has_history(spec)) return split.test;
  return run_rows(spec, split.test, final_training_rows(spec, split));
}

void record_training_metadata(RetrievalModel& model, const std::string& source, const std::string& fingerprint,
                              const TrainOptions& options, const TrainResult& r, size_t epochs_before) {
  TrainingMetadata& meta = model.metadata();
  meta.library_version = kVersionString;
  meta.data_source = source;
  meta.data_fingerprint = fingerprint;
  meta.seed = options.seed_set ? options.seed : model.model().spec().training.seed;
  meta.epochs = epochs_before + r.history.size();
  meta.best_epoch = r.best_epoch ? epochs_before + r.best_epoch : 0;
  meta.candidate_counts.clear();
  meta.candidate_counts.insert(r.candidate_counts.count.begin(), r.candidate_counts.count.end());
  meta.sampling_probability = r.sampling_probability;
  meta.shuffle_state = r.shuffle_state;
  meta.train_seconds = r.seconds;
  meta.created_unix =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  meta.metrics.clear();
  if (r.final_metrics)
    for (size_t i = 0; i < r.final_metrics->k.size(); ++i)
      meta.metrics[TopKMetrics::metric_name(r.final_metrics->k[i])] = r.final_metrics->accuracy[i];
}

FitResult fit_retrieval_model(const ModelSpec& spec, const Dataset& data, const TrainOptions& options) {
  check_train_options(options);
  check_history_options(spec, options);
  FitResult out;
  const Split split = checked_split(spec, data, out);

  TwoTowerModel model(spec);
  // data.history: the history feature is fitted on histories built from the final model's
  // training rows only, so no held-out row's item enters it.
  if (has_history(spec))
    model.fit_preprocessing(run_rows(spec, data.interactions, final_training_rows(spec, split)), data.candidates);
  else
    model.fit_preprocessing(data.interactions, data.candidates);
  model.initialize(spec.training.seed);
  out.training = train_and_refit(model, split, data, options);

  out.model = std::make_unique<RetrievalModel>(std::move(model));
  ThreadPool pool(options.threads);
  const Table test = final_test_rows(spec, split);
  out.model->build_index(data.candidates, pool, &test);
  out.model->optimizer_state() = out.training.optimizer_state;
  record_metadata(*out.model, data, options, out.training, 0);
  return out;
}

FitResult continue_fit(RetrievalModel& model, const Dataset& data, const TrainOptions& options) {
  check_train_options(options);
  if (model.weights_precision() != Precision::f32)
    fail(ErrorKind::invalid_argument, std::string("warm start needs float32 weights; this model's are ") +
                                          precision_name(model.weights_precision()) +
                                          " (quantized): continue from the float32 model, or reset");
  const ModelSpec& spec = model.model().spec();
  check_history_options(spec, options);
  FitResult out;
  const Split split = checked_split(spec, data, out);

  TrainOptions resumed = options;
  resumed.optimizer_state = model.optimizer_state();
  if (!options.seed_set) resumed.shuffle_state = model.metadata().shuffle_state;
  // Train a copy: until everything has succeeded, `model` keeps what it had.
  TwoTowerModel trained = model.model();
  out.training = train_and_refit(trained, split, data, resumed);

  TwoTowerModel before = std::exchange(model.model(), std::move(trained));
  try {
    ThreadPool pool(options.threads);
    const Table test = final_test_rows(spec, split);
    model.build_index(data.candidates, pool, &test);
  } catch (...) {
    // Bad input (an encoding error) fails before the index is replaced: the old weights match
    // it again.
    model.model() = std::move(before);
    throw;
  }
  model.optimizer_state() = out.training.optimizer_state;
  record_metadata(model, data, options, out.training, model.metadata().epochs);
  return out;
}

}  // namespace tt
