#include "model/columnar_stream.h"

#include <algorithm>
#include <queue>
#include <utility>

#include "base/error.h"
#include "base/random.h"

namespace tt {

namespace {

// SplitMix64's finaliser: a well-mixed 64-bit hash of the row number under the seed.
uint64_t row_hash(uint64_t seed, uint64_t row) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + row + 0x6A09E667F3BCC909ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

bool HeldOutRows::held(uint64_t row) const {
  return std::binary_search(test.begin(), test.end(), row) ||
         std::binary_search(validation.begin(), validation.end(), row);
}

HeldOutRows select_held_out(uint64_t rows, const DataSpec& data) {
  const uint64_t held = uint64_t{data.test_rows} + data.validation_rows;
  if (held >= rows)
    fail(ErrorKind::invalid_argument, "data.test_rows " + std::to_string(data.test_rows) + " + data.validation_rows " +
                                          std::to_string(data.validation_rows) + " leave none of the " +
                                          std::to_string(rows) + " interactions to train on");
  if (data.train_rows != 0 && data.train_rows + data.test_rows != rows)
    fail(ErrorKind::invalid_argument,
         "streaming training trains on every row not held out: data.train_rows must be 0 (or " +
             std::to_string(rows - data.test_rows) + "), not " + std::to_string(data.train_rows));
  // The `held` rows of lowest hash (ties by row number): a max-heap of the best so far.
  std::priority_queue<std::pair<uint64_t, uint64_t>> best;
  for (uint64_t r = 0; r < rows && held > 0; ++r) {
    const std::pair<uint64_t, uint64_t> h{row_hash(data.split_seed, r), r};
    if (best.size() < held) {
      best.push(h);
    } else if (h < best.top()) {
      best.pop();
      best.push(h);
    }
  }
  std::vector<std::pair<uint64_t, uint64_t>> ranked;
  ranked.reserve(best.size());
  for (; !best.empty(); best.pop()) ranked.push_back(best.top());
  std::reverse(ranked.begin(), ranked.end());
  HeldOutRows out;
  for (size_t i = 0; i < ranked.size(); ++i)
    (i < data.test_rows ? out.test : out.validation).push_back(ranked[i].second);
  std::sort(out.test.begin(), out.test.end());
  std::sort(out.validation.begin(), out.validation.end());
  out.train_rows = rows - held;
  return out;
}

Table read_rows_except(const ColumnarFile& file, uint64_t begin, uint64_t end, const std::vector<std::string>& columns,
                       const std::vector<uint64_t>& skip) {
  Table t = file.read_rows(begin, end, columns);
  auto lo = std::lower_bound(skip.begin(), skip.end(), begin);
  auto hi = std::lower_bound(lo, skip.end(), end);
  if (lo == hi) return t;
  std::vector<size_t> keep;
  keep.reserve(end - begin - static_cast<size_t>(hi - lo));
  for (uint64_t r = begin; r < end; ++r) {
    if (lo != hi && *lo == r) {
      ++lo;
      continue;
    }
    keep.push_back(r - begin);
  }
  return t.take(keep);
}

ColumnarRowStream::ColumnarRowStream(const ColumnarFile& file, std::vector<std::string> columns,
                                     const HeldOutRows& held_out, size_t buffer_rows)
    : file_(file), columns_(std::move(columns)), rows_(held_out.train_rows), buffer_rows_(buffer_rows) {
  held_ = held_out.test;
  held_.insert(held_.end(), held_out.validation.begin(), held_out.validation.end());
  std::sort(held_.begin(), held_.end());
  if (buffer_rows_ == 0) fail(ErrorKind::invalid_argument, "the shuffle buffer must hold at least one row");
}

bool ColumnarRowStream::has_column(const std::string& name) const {
  return std::find(columns_.begin(), columns_.end(), name) != columns_.end();
}

void ColumnarRowStream::start_epoch(Rng& rng) {
  const size_t blocks = static_cast<size_t>(file_.num_blocks());
  if (buffer_rows_ >= rows_) {
    blocks_.resize(blocks);
    for (size_t b = 0; b < blocks; ++b) blocks_[b] = b;
  } else {
    blocks_ = permutation(blocks, rng);
  }
  block_ = 0;
  pos_ = blocks_.empty() ? 0 : blocks_[0] * uint64_t{file_.block_rows()};
}

void ColumnarRowStream::append_next(Table& out, size_t max_rows) {
  const size_t target = out.num_rows() + max_rows;
  out.reserve(target);
  while (out.num_rows() < target && block_ < blocks_.size()) {
    const uint64_t block_end = std::min(file_.num_rows(), (blocks_[block_] + 1) * uint64_t{file_.block_rows()});
    // Rows held out do not count towards max_rows: read on past them.
    uint64_t need = target - out.num_rows(), end = pos_;
    while (end < block_end && need > 0) {
      const uint64_t to = std::min(block_end, end + need);
      const auto held = static_cast<uint64_t>(std::lower_bound(held_.begin(), held_.end(), to) -
                                              std::lower_bound(held_.begin(), held_.end(), end));
      need -= (to - end) - held;
      end = to;
    }
    Table part = read_rows_except(file_, pos_, end, columns_, held_);
    file_.release_rows(pos_, end);
    pos_ = end;
    if (out.num_columns() == 0) {
      out = std::move(part);
      out.reserve(target);
    } else {
      out.append(part);
    }
    if (pos_ == block_end && ++block_ < blocks_.size()) pos_ = blocks_[block_] * uint64_t{file_.block_rows()};
  }
}

}  // namespace tt
