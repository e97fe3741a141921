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
  size_t train_rows = 0, test_rows = 0;
  std::vector<std::string> warnings;  // check_training_data's, for the caller to show
};

FitResult fit_retrieval_model(const ModelSpec& spec, const Dataset& data, const TrainOptions& options);

}  // namespace tt
