// FactorizedTopK, as TFRS computes it: for each (query, true candidate) pair, count the
// catalogue rows that score strictly higher than the true candidate; the pair is a hit at k when
// that count is below k (ties count as hits, a non-finite score is a miss).
#pragma once

#include <string>
#include <vector>

#include "model/two_tower_model.h"

namespace tt {

class ThreadPool;

struct TopKMetrics {
  std::vector<size_t> k;
  std::vector<double> accuracy;  // same order as k
  size_t examples = 0;
  // The most-popular list's accuracy on the same rows (model/popularity.h), same order as k;
  // empty when it was not computed (no training counts at hand).
  std::vector<double> baseline;
  // The k at which the model does not beat the baseline (empty: it beats it everywhere, or
  // there is no baseline).
  std::vector<size_t> not_beating_baseline() const;
  // "factorized_top_k/top_{k}_categorical_accuracy", TFRS's metric names.
  static std::string metric_name(size_t k);
  double at(size_t k) const;  // throws if k was not evaluated
};

// The evaluation inputs, encoded once and reused at every evaluation of a training run.
struct EvalSet {
  EncodedBatch queries;    // test rows through the query tower's features
  EncodedBatch positives;  // the same rows through the candidate tower's features
  EncodedBatch catalogue;  // every candidate row (or distinct ones) through the candidate tower
};

// Builds the evaluation set. With distinct_candidates, catalogue rows repeating an id already
// seen in `id_column` are dropped (TFRS counts duplicates; this gives slightly higher numbers).
EvalSet make_eval_set(const TwoTowerModel& model, const Table& test, const Table& catalogue, bool distinct_candidates);

TopKMetrics evaluate_factorized_topk(const TwoTowerModel& model, const EvalSet& set, const std::vector<size_t>& ks,
                                     size_t batch_size, ThreadPool& pool);

}  // namespace tt
