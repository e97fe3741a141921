// The training loop: reshuffle every epoch from the seed, cut batches, forward both towers, the
// in-batch softmax loss, backward, one optimizer step; evaluate every N epochs.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/random.h"

#include "model/evaluation.h"
#include "model/popularity.h"
#include "model/step_exchange.h"
#include "model/two_tower_model.h"

namespace tt {

struct EpochRecord {
  size_t epoch = 0;                               // 1-based
  double mean_loss = 0.0;                         // mean per-example loss over the epoch (not Keras's last-batch sum)
  double seconds = 0.0;                           // wall time of the epoch's training steps
  double eval_seconds = 0.0;                      // wall time of the evaluation, if any
  std::optional<TopKMetrics> metrics;             // on the test rows
  std::optional<TopKMetrics> validation_metrics;  // on the validation rows, when there are any
};

struct TrainProgress {
  size_t epoch = 0, epochs = 0;
  size_t batch = 0, batches = 0;        // batch == batches at the end of an epoch
  const EpochRecord* record = nullptr;  // set once an epoch (and its evaluation) has finished
  bool refit = false;                   // the second run of training.refit_after_validation
};

struct TrainOptions {
  size_t epochs = 0;             // 0: the spec's
  size_t eval_every = SIZE_MAX;  // SIZE_MAX: the spec's; 0: only after the last epoch
  uint64_t seed = 0;             // shuffling seed for the epochs (the spec's training.seed by default)
  bool seed_set = false;
  int threads = 0;  // 0: all hardware threads
  // Score each distinct candidate of a batch once, weighted by its count (the same loss and
  // gradients as one column per example, up to rounding; see retrieval_loss.h). Off: one
  // column per example, as TFRS computes it. Hard-negative mining always uses one per example.
  bool group_repeated_candidates = true;
  // The epoch order of a run of this many processes (see step_exchange.h): the rows form that
  // many contiguous ranges, each shuffled with its own stream, and every batch takes
  // batch_size / order_ranks rows of each range in range order. One process then sees the
  // batches of `mpirun -np N twotower train --distributed`. 1: one shuffle of all rows.
  size_t order_ranks = 1;
  // Distributed training (lib/dist): the other processes. `train` and `test` are then this
  // process's range of the training and test rows (rank_rows), the spec's batch size is the
  // global batch, and order_ranks is the number of processes.
  StepExchange* exchange = nullptr;
  // Called after every batch and after every epoch; return false to cancel (ErrorKind::cancelled).
  std::function<bool(const TrainProgress&)> on_progress;
  // Warm start: the optimizer state to continue from (Optimizer::save_state's bytes; empty: a
  // fresh optimizer) and the shuffling stream to continue (nullopt: a new stream from the seed).
  // With both taken from a run's TrainResult, N epochs and then M more train exactly the model
  // of N + M epochs in one run (same data, seed and thread count).
  std::span<const uint8_t> optimizer_state;
  std::optional<Rng::State> shuffle_state;
};

struct TrainResult {
  std::vector<EpochRecord> history;
  std::optional<TopKMetrics> final_metrics;
  double seconds = 0.0;
  size_t examples = 0;
  std::vector<uint8_t> optimizer_state;     // Optimizer::save_state after the last step
  std::optional<Rng::State> shuffle_state;  // the shuffling stream after the last epoch (one range only)
  // Early stopping: the epoch whose weights the model holds (0: the last one, no early
  // stopping) and whether training stopped before the epochs ran out.
  size_t best_epoch = 0;
  bool stopped_early = false;
  // training.refit_after_validation: the run that chose best_epoch on the validation rows (its
  // records have validation metrics only); `history` is then the refit's, which trained on the
  // training and validation rows for best_epoch epochs and alone was evaluated on the test rows.
  std::vector<EpochRecord> selection_history;
  // Training-row statistics the model file keeps: each candidate's count (the most-popular
  // baseline) and, with task.sampling_probability, its estimated sampling probability per draw
  // at the end of training.
  CandidateCounts candidate_counts;
  std::map<std::string, double> sampling_probability;
  // The most training rows held in memory at once: all of them in memory, at most the shuffle
  // buffer when streaming (train_streamed).
  size_t peak_resident_rows = 0;
  size_t windows = 0;  // streamed windows over all epochs (0 in memory)
};

// Training rows read a window at a time instead of held in memory (streaming training from a
// columnar file: model/columnar_stream.h). Each epoch: start_epoch, then next until it returns
// false; the trainer shuffles each window (with any rows left over from the previous one) and
// trains its full batches, so at most buffer_rows() rows are resident.
class RowStream {
 public:
  virtual ~RowStream() = default;
  virtual size_t rows() const = 0;         // training rows per epoch
  virtual size_t buffer_rows() const = 0;  // the shuffle buffer: rows resident at most (>= batch size)
  virtual bool has_column(const std::string& name) const = 0;
  // Begins an epoch; the stream draws its block order from `rng` when the buffer cannot hold
  // every row (when it can, blocks keep file order and the window's full shuffle is the epoch's).
  virtual void start_epoch(Rng& rng) = 0;
  // Appends the epoch's next rows, at most `max_rows` (> 0), to `window` (reserving room for
  // them once, so its rows are not copied twice); appends none once the epoch is done.
  virtual void append_next(Table& window, size_t max_rows) = 0;
  // The same into a new table.
  Table next(size_t max_rows) {
    Table t;
    append_next(t, max_rows);
    return t;
  }
};

// evaluation.sample_rows: `sample_rows` of `rows` drawn without replacement from `seed` (kept in
// their order); all of them when sample_rows is 0 or not below their number.
Table evaluation_sample(const Table& rows, size_t sample_rows, uint64_t seed);

// ErrorKind::invalid_argument naming the field when an option is out of range (epochs above
// kMaxEpochs, threads outside 0..kMaxThreads, eval_every other than SIZE_MAX above kMaxEpochs).
void check_train_options(const TrainOptions& options);

// Trains `model` (already fitted and initialised) on `train`, evaluating on `test` against
// `catalogue` (FactorizedTopK). `test` may be empty, then no evaluation is done.
TrainResult train_model(TwoTowerModel& model, const Table& train, const Table& test, const Table& catalogue,
                        const TrainOptions& options);
// The same with validation rows: each evaluation also runs on them, and early stopping
// (training.patience) watches them; the test rows are only reported, never used to choose.
TrainResult train_model(TwoTowerModel& model, const Table& train, const Table& validation, const Table& test,
                        const Table& catalogue, const TrainOptions& options);

// Trains on rows streamed from `train` (see RowStream); `train_counts` are the candidate counts
// of all its rows (the popularity baseline and task.sampling_probability 'counts' need them
// before the first batch). With a buffer that holds every row, the model is bit for bit the one
// train_model gives on the same rows in the stream's order. Not with distributed training,
// order_ranks or a warm start's shuffle state.
TrainResult train_streamed(TwoTowerModel& model, RowStream& train, const CandidateCounts& train_counts,
                           const Table& validation, const Table& test, const Table& catalogue,
                           const TrainOptions& options);

// History as CSV (epoch,loss,seconds,eval_seconds,top_1,...,popular_top_1,...,val_top_1,...) and
// as JSON (the most-popular baseline once, beside the per-epoch metrics). After a refit the CSV
// has the selection run's rows, then the refit's, and a last column `phase` ("selection" or
// "refit"); the JSON has the selection run under "selection_history".
std::string history_csv(const TrainResult& r);
std::string history_json(const TrainResult& r);

}  // namespace tt
