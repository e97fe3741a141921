// Streaming training rows from a columnar file (docs/data-format.md, "Streaming training"): the
// held-out rows chosen per row number, so no pass needs all rows in memory, and a RowStream that
// reads the other rows in shuffled blocks, a window of at most the shuffle buffer at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/columnar.h"
#include "model/spec.h"
#include "model/trainer.h"

namespace tt {

// The held-out rows of a streamed file, in ascending row order. Every row gets a seeded hash of
// its number (data.split_seed); the data.test_rows rows of lowest hash are the test rows, the
// next data.validation_rows the validation rows, and every other row trains. data.train_rows
// must be 0 or cover the rest (a streamed run trains on every row not held out).
struct HeldOutRows {
  std::vector<uint64_t> test, validation;
  uint64_t train_rows = 0;
  bool held(uint64_t row) const;  // in test or validation
};
HeldOutRows select_held_out(uint64_t rows, const DataSpec& data);

// The training rows of `file` (every row not held out), columns `columns`, streamed for
// train_streamed: each epoch reads the file's blocks in a random order (file order when the
// buffer holds every training row) and hands out their rows in that order, at most the shuffle
// buffer at a time; the mapped pages of rows handed out are released.
class ColumnarRowStream final : public RowStream {
 public:
  ColumnarRowStream(const ColumnarFile& file, std::vector<std::string> columns, const HeldOutRows& held_out,
                    size_t buffer_rows);
  size_t rows() const override { return rows_; }
  size_t buffer_rows() const override { return buffer_rows_; }
  bool has_column(const std::string& name) const override;
  void start_epoch(Rng& rng) override;
  void append_next(Table& window, size_t max_rows) override;

 private:
  const ColumnarFile& file_;
  std::vector<std::string> columns_;
  std::vector<uint64_t> held_;  // test and validation rows, ascending
  size_t rows_ = 0, buffer_rows_ = 0;
  std::vector<size_t> blocks_;  // this epoch's block order
  size_t block_ = 0;            // index into blocks_
  uint64_t pos_ = 0;            // next row to read in blocks_[block_]
};

// Rows [begin, end) of `file` except those in `skip` (ascending), columns `columns`.
Table read_rows_except(const ColumnarFile& file, uint64_t begin, uint64_t end, const std::vector<std::string>& columns,
                       const std::vector<uint64_t>& skip);

}  // namespace tt
