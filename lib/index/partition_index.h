// The approximate index: candidates split into k-means partitions (index/kmeans.h); a query
// scores the partitions' centroids, scans the best `probe` partitions with the int8 compact
// scan (index/compact_scan.h; a copy of the embeddings in partition order), keeps a shortlist
// of the best approximate scores and re-scores it in float32 against the embeddings: ScaNN's
// recipe of partitions, a compact scan and exact re-scoring. The shortlist and the breadth are
// per-query parameters; a recall target maps to the breadth measured at build time
// (calibration: recall@k against exact search on a sample of queries).
//
// Filters (exclusion lists, allow-lists) are applied while scanning, and the scan continues
// into further partitions (by centroid score) until k candidates have passed the filter, so a
// filtered query gets k results whenever k candidates pass; a small allow-list is searched
// exactly instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "nn/matrix.h"

namespace tt {

class ThreadPool;
struct SearchOptions;

// One calibration point: scanning `probe` partitions (with the default shortlist) gave a mean
// recall@k of `recall` against exact search on the calibration queries.
struct PartitionCalibration {
  uint32_t probe = 0;
  float recall = 0.0f;
};

struct PartitionBuildOptions {
  size_t partitions = 0;  // 0: default_partitions(candidates)
  size_t iterations = 12;
  uint64_t seed = 0;
  // k-means trains on at most this many rows per partition (a seeded sample).
  size_t rows_per_partition = 64;
  // Queries the calibration measures recall with (rows x dim); nullptr or empty: a seeded sample
  // of the candidates themselves.
  const Matrix* calibration_queries = nullptr;
  size_t calibration_sample = 256;  // queries used at most
  size_t calibration_k = 100;       // recall@k measured (capped at the candidate count)
};

class PartitionIndex {
 public:
  // About 2 sqrt(n) partitions (2,000 for a million candidates), at least 1, and at least 16
  // candidates per partition on average.
  static size_t default_partitions(size_t candidates);

  // Partitions the rows of `embeddings` (k-means on a sample, every row assigned to its nearest
  // centroid). Not calibrated: calibrate() measures the recall curve.
  static PartitionIndex build(const Matrix& embeddings, const PartitionBuildOptions& options, ThreadPool& pool);
  // Rebuilds an index from its stored parts (a model file), checking that they fit the
  // embeddings: invalid_argument naming the field otherwise.
  static PartitionIndex from_parts(const Matrix& embeddings, Matrix centroids, std::vector<uint32_t> assignment,
                                   std::vector<PartitionCalibration> calibration, size_t calibration_k);

  size_t partitions() const { return centroids_.rows(); }
  size_t size() const { return assignment_.size(); }
  size_t dim() const { return centroids_.cols(); }
  const Matrix& centroids() const { return centroids_; }
  // The partition of each candidate (what a model file stores).
  const std::vector<uint32_t>& assignment() const { return assignment_; }
  const std::vector<PartitionCalibration>& calibration() const { return calibration_; }
  size_t calibration_k() const { return calibration_k_; }
  // Candidates in partition p.
  size_t partition_size(size_t p) const { return offsets_[p + 1] - offsets_[p]; }

  // Measures recall@k (k = options.calibration_k) for a grid of breadths, with `exact_ids`
  // (queries.rows() x k, from exact search) as the truth, and stores the curve.
  void calibrate(const Matrix& embeddings, const Matrix& queries, const std::vector<int64_t>& exact_ids, size_t k,
                 ThreadPool& pool);

  // The breadth for a recall target: the smallest probe whose calibrated recall reaches the
  // target plus a margin (calibration_goal), reading the curve as straight lines between its
  // points (every partition if no point reached it, or without a calibration).
  size_t probe_for_recall(double recall) const;
  // The recall the calibration must show for a target: the target plus kRecallMargin (at most
  // half the way to 1), which covers the sampling error of a calibration on 256 queries
  // (a standard error of about 0.0013 at recall 0.95 on uniform data) so that new queries reach the target.
  static double calibration_goal(double recall);
  static constexpr double kRecallMargin = 0.005;
  // The shortlist re-scored in float32 when the caller does not say: max(2k, 32).
  static size_t default_rescore(size_t k);

  // Approximate top-k for n queries, with the output contract of CandidateIndex::search
  // (positions and float32 scores, best first, -1 / -inf beyond what passes the filter).
  // Uses options.probe (or the breadth for options.recall) and options.rescore.
  void search(const Matrix& embeddings, const float* queries, size_t n, const SearchOptions& options, int64_t* ids,
              float* scores, ThreadPool& pool) const;

 private:
  struct Query;
  struct Probe;
  struct Impl;

  Matrix centroids_;
  std::vector<uint32_t> assignment_;
  std::vector<uint64_t> offsets_;  // partitions + 1: where each partition starts in order_
  std::vector<uint32_t> order_;    // candidate positions sorted by partition (stable)
  std::vector<uint64_t> groups_;   // partitions + 1: first packed group of each partition
  std::vector<uint8_t> packed_;    // 4-bit copy in partition order, 16-candidate groups (compact_scan.h, scan_u4)
  std::vector<float> scales_;      // one per packed slot (0 in padding)
  std::vector<PartitionCalibration> calibration_;
  size_t calibration_k_ = 0;
};

}  // namespace tt
