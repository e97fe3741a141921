#include "model/fit.h"

#include <chrono>

#include "base/parallel.h"
#include "base/version.h"

namespace tt {

namespace {

Table rank_range(const Table& t, const StepExchange& exchange) {
  const auto [first, last] = rank_rows(t.num_rows(), exchange.rank(), exchange.ranks());
  std::vector<size_t> rows(last - first);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = first + i;
  return t.take(rows);
}

}  // namespace

FitResult fit_retrieval_model(const ModelSpec& spec, const Dataset& data, const TrainOptions& options) {
  check_train_options(options);
  FitResult out;
  out.warnings = check_training_data(spec, data);
  Split split = split_for_spec(data.interactions, spec.data);
  out.train_rows = split.train.num_rows();
  out.test_rows = split.test.num_rows();

  TwoTowerModel model(spec);
  model.fit_preprocessing(data.interactions, data.candidates);
  model.initialize(spec.training.seed);
  if (options.exchange) {
    // Distributed: every process fits the same preprocessing on all rows, then trains and
    // evaluates on its rank's range of the training and test rows.
    const Table train = rank_range(split.train, *options.exchange), test = rank_range(split.test, *options.exchange);
    out.training = train_model(model, train, test, data.candidates, options);
  } else {
    out.training = train_model(model, split.train, split.test, data.candidates, options);
  }

  out.model = std::make_unique<RetrievalModel>(std::move(model));
  ThreadPool pool(options.threads);
  out.model->build_index(data.candidates, pool, &split.test);
  out.model->optimizer_state() = out.training.optimizer_state;

  TrainingMetadata& meta = out.model->metadata();
  meta.library_version = kVersionString;
  meta.data_source = data.source;
  meta.data_fingerprint = table_fingerprint(data.interactions) + "-" + table_fingerprint(data.candidates);
  meta.seed = options.seed_set ? options.seed : spec.training.seed;
  meta.epochs = out.training.history.size();
  meta.train_seconds = out.training.seconds;
  meta.created_unix =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (out.training.final_metrics)
    for (size_t i = 0; i < out.training.final_metrics->k.size(); ++i)
      meta.metrics[TopKMetrics::metric_name(out.training.final_metrics->k[i])] =
          out.training.final_metrics->accuracy[i];
  return out;
}

}  // namespace tt
