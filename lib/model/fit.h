// The whole training pipeline from a spec and a dataset: fit the preprocessing, split, train,
// evaluate, build the candidate index and record the metadata. The command-line tool and the C
// API both call this, so they train identically.
#pragma once

#include <memory>

#include "model/dataset.h"
#include "model/retrieval_model.h"
#include "model/trainer.h"

namespace tt {

struct FitResult {
  std::unique_ptr<RetrievalModel> model;
  TrainResult training;
  size_t train_rows = 0, test_rows = 0, validation_rows = 0;
  std::vector<std::string> warnings;  // check_training_data's, for the caller to show
};

// The metadata of a finished run; `epochs_before` counts the epochs a warm start began from.
void record_training_metadata(RetrievalModel& model, const std::string& source, const std::string& fingerprint,
                              const TrainOptions& options, const TrainResult& r, size_t epochs_before);

FitResult fit_retrieval_model(const ModelSpec& spec, const Dataset& data, const TrainOptions& options);

// The tables one run of fit_retrieval_model meets. refit false: the first (or only) run, on the
// training rows, evaluated on the validation and test rows; refit true: the second run of
// training.refit_after_validation, on training + validation rows, evaluated on the test rows
// (validation empty). With data.history every table has the history column, built from that
// run's training rows only (data/history.h): no validation or test row's item ever enters a
// history of a run that is evaluated on it.
struct RunTables {
  Table train;
  Table validation;
  Table test;
};
RunTables run_tables(const ModelSpec& spec, const Split& split, bool refit);

// The test rows of `split` as the final model of `spec` meets them: with data.history, each
// with the history column built from the rows that model trained on (the training rows, and
// the validation rows too after training.refit_after_validation); else split.test as it is.
Table final_test_rows(const ModelSpec& spec, const Split& split);

// Warm start: trains `model` (trained or loaded) further on `data`, in place. The preprocessing
// is not refitted (ids it has not seen map to the out-of-vocabulary row or to their hash
// bucket), the weights continue, and so do the optimizer state and the shuffling stream when
// the model has them (a model trained here, or loaded from a file saved with its optimizer
// state) unless `options` sets a seed, which starts a new stream. The spec's data split applies
// to `data` as in a first run. Then the index is rebuilt from data.candidates and the metadata
// updated (epochs counts all of them). On any failure, cancellation included, `model` is left
// as it was. FitResult::model is null: the result is `model` itself.
FitResult continue_fit(RetrievalModel& model, const Dataset& data, const TrainOptions& options);

}  // namespace tt
