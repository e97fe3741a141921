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
  // The interaction rows this rank held in memory (the whole table, or its share of a file),
  // and the training and test rows it trained and evaluated on.
  size_t rows_held = 0, rank_train_rows = 0, rank_test_rows = 0;
};

// Every rank calls this with its own copy of the spec and data (each rank loads the files; it
// keeps only its rank's rows for training). options.exchange and order_ranks are set here.
// Collective: a rank that fails throws, and the others fail within the communicator's timeout.
FitResult fit_distributed(const ModelSpec& spec, const Dataset& data, TrainOptions options, Communicator& comm,
                          DistributedStats* stats = nullptr);

// The same with the interactions in a columnar file (docs/data-format.md) that every rank can
// read: each rank keeps only its share of the rows in memory (model/rank_share.h), the
// preprocessing being fitted by a streamed pass over the file. The model equals fit_distributed's
// on the same rows loaded whole, bit for bit (same split, preprocessing, batches and sums).
FitResult fit_distributed_file(const ModelSpec& spec, const std::string& interactions_path, const Table& catalogue,
                               TrainOptions options, Communicator& comm, DistributedStats* stats = nullptr);

}  // namespace tt::dist
