// The whole training pipeline (model/fit.h) run by every rank of an MPI communicator as one
// data-parallel job: the ranks check they agree on spec and data, each trains on its range of
// the rows with the global batch's negatives, and all end with the same model.
#pragma once

#include "dist/communicator.h"
#include "model/fit.h"

namespace tt::dist {

struct DistributedStats {
  int ranks = 1;
  size_t steps = 0;             // training steps (batches) this rank took part in
  uint64_t bytes_sent = 0;      // this rank's bytes into the collectives of training
  double exchange_seconds = 0;  // time in those collectives (waiting for other ranks included)
  double train_seconds = 0;     // wall time of training (evaluations excluded)
};

// Every rank calls this with its own copy of the spec and data (each rank loads the files; it
// keeps only its rank's rows for training). options.exchange and order_ranks are set here.
// Collective: a rank that fails throws, and the others fail within the communicator's timeout.
FitResult fit_distributed(const ModelSpec& spec, const Dataset& data, TrainOptions options, Communicator& comm,
                          DistributedStats* stats = nullptr);

}  // namespace tt::dist
