// How the processes of a distributed run share a training step (lib/dist implements it over
// MPI). The trainer calls these at fixed points of every step; a single process has none.
//
// Each process trains on one contiguous range of the training rows (its rank's) and embeds
// its own share of every global batch; gather_candidates gives every process the whole global
// batch's candidates, so each query's softmax runs over the global batch exactly as in one
// process with the global batch size.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/evaluation.h"
#include "nn/matrix.h"
#include "nn/parameter.h"

namespace tt {

// One process's candidate columns of a step. ids, sampling probabilities and multiplicities
// are empty when the step has none (all processes agree on which are present).
struct StepCandidates {
  const Matrix* embeddings = nullptr;
  std::span<const int32_t> ids;
  std::span<const float> sampling_probability;
  std::span<const float> multiplicity;
};

// The candidate columns of every process, this process's first and then the others in rank
// order (so this process's query i keeps its positive column), with per-column data.
struct GatheredCandidates {
  Matrix embeddings;
  std::vector<int32_t> ids;
  std::vector<float> sampling_probability;
  std::vector<float> multiplicity;
};

class StepExchange {
 public:
  virtual ~StepExchange() = default;
  virtual size_t rank() const = 0;
  virtual size_t ranks() const = 0;

  virtual void gather_candidates(const StepCandidates& local, GatheredCandidates& all) = 0;
  // all_dc: dL/d(column) for the gathered columns (in gather order) from this process's
  // queries. Writes to local_dc the sum over processes for this process's own columns.
  virtual void reduce_candidate_gradient(const Matrix& all_dc, Matrix& local_dc) = 0;
  // Replaces every parameter's gradient by its sum over the processes, identical on all of
  // them: dense ones all-reduced, row-sparse ones (embedding tables) by their touched rows.
  virtual void reduce_gradients(std::span<Parameter* const> params) = 0;
  // Sum over the processes.
  virtual double sum(double value) = 0;
  // Metrics each process computed on its share of the test rows, combined into the metrics of
  // all test rows.
  virtual void reduce_metrics(TopKMetrics& metrics) = 0;
  // Throws if the processes' weights differ (they must stay bit-identical).
  virtual void check_same_weights(std::span<Parameter* const> params) = 0;
};

// The rows of `n` that process `rank` of `ranks` trains on (or evaluates): [first, last).
inline std::pair<size_t, size_t> rank_rows(size_t n, size_t rank, size_t ranks) {
  return {n * rank / ranks, n * (rank + 1) / ranks};
}

}  // namespace tt
