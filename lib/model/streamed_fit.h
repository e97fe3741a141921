// Training from a columnar interactions file larger than memory (docs/data-format.md,
// "Streaming training"): the preprocessing is fitted by passes over the file's rows, the held-out
// rows are chosen per row number and kept, and training streams the other rows a window of at
// most the shuffle buffer at a time. Memory is then bounded by the buffer, the held-out rows, the
// catalogue and the model, whatever the file's row count.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "data/columnar.h"
#include "model/fit.h"
#include "model/stream_memory.h"

namespace tt {

struct StreamOptions {
  // Training rows resident at most (windows are shuffled whole); at least the batch size. 0:
  // what memory_limit_bytes leaves for them (model/stream_memory.h).
  size_t shuffle_buffer_rows = 0;
  // Rows read at once by the preprocessing passes (0: the shuffle buffer's, or under a memory
  // limit what it leaves for them).
  size_t chunk_rows = 0;
  // > 0: the process's peak resident set stays under this many bytes whatever the row count:
  // the shuffle buffer and the chunks are derived from it, and training is refused (before the
  // first epoch) when it cannot hold the fixed part and one batch, or the given shuffle buffer.
  uint64_t memory_limit_bytes = 0;
  // When set, receives the memory plan (memory_limit_bytes > 0 only).
  MemoryPlan* plan = nullptr;
};

// Fits and trains a new model as fit_retrieval_model does, from the columnar interactions file
// `interactions_path` (read a chunk at a time) and `catalogue` (in memory, from read_catalogue).
// The split is select_held_out's. An interaction whose candidate id is not in the catalogue is an
// error naming the file and row when the interactions are joined to it, else weighed by
// data.max_unknown_candidates as in memory. With a buffer holding every training row, the model
// is bit for bit train_model's on the same split (tests/unit/test_model_streamed_fit.cpp).
FitResult fit_streamed(const ModelSpec& spec, const std::string& interactions_path, const Table& catalogue,
                       const TrainOptions& options, const StreamOptions& stream);

// The columns of `file` training reads (checked to have the spec's types), after checking that
// the file and `catalogue` have rows and the catalogue its id column. *joined: whether the
// candidate tower's columns come from the catalogue.
std::vector<std::string> checked_interaction_columns(const ModelSpec& spec, const ColumnarFile& file,
                                                     const Table& catalogue, bool* joined);
// The model file's data fingerprint of a columnar file: "ttc-" and its content checksum.
std::string columnar_fingerprint(const ColumnarFile& file);

// Called with each chunk of the first pass: its first row's number, its rows and, when they are
// joined to the catalogue, each row's catalogue row.
using ChunkVisitor =
    std::function<void(uint64_t first, const Table& rows, const std::vector<uint32_t>& catalogue_rows)>;

// TwoTowerModel::fit_preprocessing on every row of `file` (columns `columns`) read `chunk_rows`
// at a time, with the same result: only distinct values, token counts, ranges and running sums
// are held (normalization reads the rows twice, as its two-pass fit does). Rows joined to the
// catalogue whose id it lacks: ErrorKind::parse naming the file and row. `visit` sees the first
// pass's chunks.
void fit_preprocessing_streamed(TwoTowerModel& model, const ColumnarFile& file, const std::vector<std::string>& columns,
                                const Table& catalogue, size_t chunk_rows, const ChunkVisitor& visit = {});

}  // namespace tt
