// What tt_model_train and tt_model_train_distributed (twotower_mpi.h) share: the checked
// tt_train_options made into TrainOptions (the progress callback wrapped), and what happens to
// the handle once a fit has succeeded.
#pragma once

#include "model/evaluation.h"
#include "model/fit.h"
#include "twotower/twotower.h"

struct tt_model;
struct tt_table;

namespace tt::capi {

struct TrainCall {
  TrainOptions options;  // threads resolved (0: the model's)
  bool reset = false;    // tt_train_options.reset
};

// Checks every field of `options` (NULL: the defaults) for a run on `model`, and the
// struct_size of `final_metrics` (may be NULL), before any work.
TrainCall read_train_call(const tt_model& model, const tt_train_options* options, const tt_metrics* final_metrics);

// The interactions and candidates tables as the engine's dataset (checks equal column lengths).
Dataset train_dataset(const tt_table* interactions, const tt_table* candidates);

// After a successful fit: `final_metrics` (may be NULL) filled, and the handle updated (the new
// model unless `warm`, whose continue_fit changed the model in place), its threads and texts.
void finish_train(tt_model& model, FitResult& fit, bool warm, const TrainCall& call, tt_metrics* final_metrics);

// A TopKMetrics into the caller's tt_metrics (struct_size checked; only the fields it covers
// are written).
void fill_metrics(const TopKMetrics& m, tt_metrics* out);

}  // namespace tt::capi
