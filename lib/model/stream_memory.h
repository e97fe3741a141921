// The memory budget of streaming training (docs/data-format.md, "Memory budget"): from a limit
// in bytes, the shuffle buffer and the preprocessing chunk that keep the process's peak resident
// set under it whatever the file's row count, or a refusal saying what does not fit. The
// accounting is an upper bound: each part counts the most it can hold at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/columnar.h"
#include "model/feature_encoder.h"
#include "model/two_tower_model.h"

namespace tt {

struct MemoryPlan {
  uint64_t limit = 0;
  // Fixed costs, in bytes.
  uint64_t resident = 0;   // the process's resident set when planned: code, libraries, the catalogue as read,
                           // the held-out rows, the parameters and gradients, the vocabularies
  uint64_t optimizer = 0;  // optimizer slots, early stopping's best weights
  uint64_t catalogue = 0;  // the catalogue encoded (training and evaluation), its id codes and grouping
  uint64_t held_out = 0;   // the held-out rows encoded for evaluation
  uint64_t workspace = 0;  // one batch's activations, gradients and logits; the mapped blocks and block
                           // copies being read
  // Between epochs and at the end: the evaluation (the catalogue embedded, each thread's
  // scores) or the end (the optimizer state saved twice, the index), whichever is larger.
  // Counted as if it coexisted with the buffer: freed memory is not always returned to the
  // system, and the plan stays an upper bound.
  uint64_t after = 0;
  // Bytes per training row in the shuffle buffer: the rows as read, encoded, and their order,
  // catalogue row, id code, weight, probability and grouping.
  uint64_t per_row = 0;
  size_t buffer_rows = 0;  // what the limit leaves for the buffer, at most the training rows

  uint64_t fixed() const { return resident + optimizer + catalogue + held_out + workspace + after; }
  // What the plan fills: the limit less 5% kept for the allocator's own overhead and slack.
  uint64_t usable() const { return limit - limit / 20; }
  // "limit 64.0 MiB = fixed 41.2 MiB (resident 30.1, optimizer ...) + 51,234 rows x 412 B".
  std::string describe() const;
};

// The process's resident set in bytes (Linux: /proc/self/statm); 0 where it cannot be read.
uint64_t resident_bytes();
// Heap bytes of a table's rows (vector storage, and each long string's own allocation) and of
// encoded features.
uint64_t table_bytes(const Table& t);
uint64_t encoded_bytes(const EncodedBatch& b);

// Bytes per row of `columns` of `file` as read into memory (from a sample of its first rows).
uint64_t read_bytes_per_row(const ColumnarFile& file, const std::vector<std::string>& columns);

// The preprocessing passes' rows per chunk under `limit`: what is left after the resident set
// and the `held_out_rows` kept, for rows read (with their copies and ids) at most 2^18 at a
// time. ErrorKind::invalid_argument when the limit cannot hold even one block of rows.
size_t plan_chunk_rows(uint64_t limit, const ColumnarFile& file, const std::vector<std::string>& columns,
                       uint64_t held_out_rows);

// The plan for training `model` (fitted and initialised) on the `train_rows` training rows of
// `file` with the kept `test` and `validation` rows and `catalogue`, on `threads` threads.
// buffer_rows is 0 when `limit` cannot hold the fixed part and one batch (see check_plan).
MemoryPlan plan_stream_memory(uint64_t limit, const TwoTowerModel& model, const ColumnarFile& file,
                              const std::vector<std::string>& columns, const Table& catalogue, const Table& test,
                              const Table& validation, uint64_t train_rows, int threads);

// ErrorKind::invalid_argument, with the plan's figures, when its buffer cannot hold one batch of
// `batch_size` rows, or cannot hold `buffer_rows` when that is given (> 0).
void check_plan(const MemoryPlan& plan, size_t batch_size, size_t buffer_rows);

}  // namespace tt
