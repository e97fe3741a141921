// A vector index over vectors made elsewhere, as Faiss's IndexFlatIP with ids: rows of float32
// values, each under an int64 key, searched by inner product with the candidate index's scans
// (exact float32, bf16 or int8 compact scans re-scored in float32, and the approximate
// partition index). No scan code of its own: it keeps a CandidateIndex whose string keys are
// the int64 keys in decimal, which is also how a model file stores it (persist/vector_index_file.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/precision.h"
#include "index/candidate_index.h"
#include "index/partition_index.h"

namespace tt {

class ThreadPool;

class VectorIndex {
 public:
  // An empty index of `dim` (1 .. kMaxDim) values per vector, stored at `precision`: added
  // vectors are rounded to it (so scores are those of the stored values); bf16 and int8 are
  // also the precisions the exact search scans at, fp16 is scanned as float32.
  VectorIndex(size_t dim, Precision precision);
  // A model file's candidate index stored at `precision`. Keys that are all int64 in decimal
  // become the keys; otherwise (titles, say) the keys are the row numbers and the stored strings
  // stay as the rows' names (positional_keys()).
  VectorIndex(CandidateIndex index, Precision precision);

  static constexpr size_t kMaxDim = 65536;

  size_t dim() const { return index_.dim(); }
  size_t size() const { return keys_.size(); }
  Precision precision() const { return precision_; }
  bool positional_keys() const { return positional_; }
  const std::vector<int64_t>& keys() const { return keys_; }
  const CandidateIndex& index() const { return index_; }

  // Rounds x (n x dim(), row-major, every value finite) to precision() and appends it under
  // `keys` (n values; duplicates allowed) or, when keys is null, under the row numbers
  // size() .. size() + n - 1. Re-packs the whole index (O(size)): add in batches. An
  // approximate index is rebuilt with the options it was built with.
  void add(const float* x, size_t n, const int64_t* keys, ThreadPool& pool);
  // Stores the values at another precision (rounding them when it is coarser).
  void set_precision(Precision p);

  // The approximate index: see CandidateIndex::build_partitions. calibration (rows x dim())
  // may be null: a sample of the vectors.
  void build_ann(PartitionBuildOptions options, const Matrix* calibration, ThreadPool& pool);
  void drop_ann();

  // Top-k keys and scores for n queries (n x dim()), with CandidateIndex::search's contract
  // (best first, ties to the lower row, -1 / -inf beyond the available rows). Exclusion and
  // allow lists in `by_key` hold keys (what the search returns); a key not in the index is
  // ignored. Thread-safe (const).
  void search(const float* queries, size_t n, const SearchOptions& by_key, int64_t* keys, float* scores,
              ThreadPool& pool) const;

  // Throws invalid_argument naming `what`, the row and the column of the first value of x
  // (rows x cols) that is NaN or infinite.
  static void check_finite(const float* x, size_t rows, size_t cols, const std::string& what);

 private:
  // Row positions holding `key` (appended to out).
  void positions_of(int64_t key, std::vector<int64_t>& out) const;
  void apply_scan_precision();

  CandidateIndex index_;
  std::vector<int64_t> keys_;
  Precision precision_ = Precision::f32;
  bool positional_ = false;
  std::optional<PartitionBuildOptions> ann_options_;  // how the approximate index was built (to rebuild it)
};

}  // namespace tt
