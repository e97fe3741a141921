// The model spec: what each tower reads, how it preprocesses it, its layer sizes, the task's
// options and the training settings. Parsed from JSON (schema in docs/model-spec.md) and stored
// verbatim in the model file, so what was trained is what is served.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/history.h"
#include "data/table.h"
#include "nn/embedding.h"
#include "nn/optimizer.h"
#include "nn/retrieval_loss.h"

namespace tt {

// Values are stored in model files (docs/model-format.md): append only.
enum class FeatureKind { string_lookup, hashing, discretization, normalization, text, multi_value_lookup };
const char* feature_kind_name(FeatureKind k);

enum class FitOn { interactions, candidates };

struct FeatureSpec {
  std::string name;    // unique in the model; names the weights ("query/<name>/embedding")
  std::string column;  // input column
  FeatureKind kind = FeatureKind::string_lookup;
  size_t embedding_dim = 0;  // 0 only for normalization, which contributes one value
  FitOn fit_on = FitOn::interactions;
  // Kind-specific parameters.
  std::vector<std::string> vocabulary;  // string_lookup: given vocabulary (else fitted)
  uint64_t num_buckets = 0;             // hashing
  size_t num_boundaries = 1000;         // discretization: linspace(min, max, n) when fitted
  std::vector<double> boundaries;       // discretization: given boundaries
  size_t max_tokens = 10000;            // text
  char separator = '|';                 // multi_value_lookup: splits a cell into values
  Pooling pooling = Pooling::mean;      // multi_value_lookup: how the values' embeddings combine
};

struct TowerSpec {
  std::vector<FeatureSpec> features;
  std::vector<size_t> layers;  // dense sizes; ReLU after all but the last
};

// How the task estimates candidate sampling probabilities (docs/model-spec.md): not at all,
// exact counts in the training rows, or the streaming estimate of Yi et al. (RecSys 2019), which
// needs fixed memory however many distinct candidates there are.
enum class SamplingEstimate { none, counts, streaming };
const char* sampling_estimate_name(SamplingEstimate e);

struct TaskSpec {
  RetrievalLossOptions loss;
  std::string sample_weight_column;         // optional, float32 column of the interactions
  std::string sampling_probability_column;  // optional, float32 column of the interactions
  // logQ correction without a hand-made column: each candidate's sampling probability
  // estimated from the training rows, used by the training loss only.
  SamplingEstimate sampling_estimate = SamplingEstimate::none;
  size_t streaming_buckets = 1u << 20;  // streaming: hash buckets of the frequency arrays
  float streaming_alpha = 0.01f;        // streaming: learning rate of the gap estimate
  // Mixed negatives (Yang et al. 2020): this many catalogue rows drawn uniformly per batch join
  // the in-batch candidates as negatives; 0 = in-batch only.
  size_t uniform_negatives = 0;
};

// Bounds shared by the spec, the C API's options and the CLI's flags (docs/model-spec.md).
constexpr size_t kMaxEpochs = 1'000'000;    // a million epochs of MovieLens is a day's training
constexpr size_t kMaxBatchSize = 1u << 20;  // batch_size and eval_batch_size
constexpr size_t kMaxTopK = 0x7fffffff;     // an evaluation k, a query's k
constexpr size_t kMaxEvaluatedK = 16;       // how many k values one evaluation reports (TT_MAX_K)

struct TrainingSpec {
  OptimizerConfig optimizer;
  size_t batch_size = 2048;
  size_t epochs = 300;
  size_t eval_every = 5;  // 0 = only at the end
  size_t eval_batch_size = 4096;
  uint64_t seed = 42;
  // Early stopping on the validation rows (data.validation_rows): stop when the top-k accuracy
  // at early_stopping_k has not improved for `patience` evaluations and restore the best
  // evaluation's weights. 0 = off.
  size_t patience = 0;
  size_t early_stopping_k = 100;
  // Choose on validation, then refit: after early stopping has chosen the epoch, train again
  // from the same initial weights and seed on the training and validation rows together, for
  // exactly that many epochs; that model is the result, evaluated on the test rows. Needs
  // patience > 0.
  bool refit_after_validation = false;
};

struct DataSpec {
  size_t train_rows = 80000;  // 0 = all but test_rows
  size_t test_rows = 20000;
  // Taken from the end of the training part, so the test rows stay those of the plain split.
  size_t validation_rows = 0;
  uint64_t split_seed = 42;
  // Interactions whose candidate id is not in the catalogue cannot be retrieved: training warns
  // with their count and refuses when they are more than this share of the interactions (0..1).
  double max_unknown_candidates = 0.01;
  // data.history: a query column of each row's earlier items (watch history), derived after the
  // split from the rows the run trains on (model/fit.cpp). history.column empty: none.
  // item_column is candidate_tower.id_column; separator is that of the multi_value_lookup
  // feature reading the column.
  HistoryOptions history;
};

struct EvalSpec {
  std::vector<size_t> k = {1, 5, 10, 50, 100};
  bool distinct_candidates = false;  // false: every catalogue row counts, duplicates included (TFRS)
  // Evaluate on a seeded sample of this many of the held-out rows (test and validation each);
  // 0 = all of them.
  size_t sample_rows = 0;
  uint64_t sample_seed = 42;
};

struct ModelSpec {
  std::string name = "model";
  std::map<std::string, DType> columns;  // declared input column types (for CSV/TSV files)
  TowerSpec query;
  TowerSpec candidate;
  std::string candidate_id_column;  // identifies a candidate (accidental hits, results, dedup)
  TaskSpec task;
  TrainingSpec training;
  DataSpec data;
  EvalSpec eval;

  // Parses and validates; errors (ErrorKind::parse) name the source and the field path, e.g.
  // "spec.json: query_tower.features[1].kind: unknown kind 'foo' (expected ...)".
  static ModelSpec from_json(const std::string& text, const std::string& source_name);
  static ModelSpec from_file(const std::string& path);
  std::string to_json() const;  // round-trips through from_json
};

}  // namespace tt
