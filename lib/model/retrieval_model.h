// What a model file holds and what serving uses: the trained two-tower model, the candidate
// index built with its candidate tower, training metadata and, optionally, optimizer state.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/precision.h"
#include "base/random.h"
#include "index/candidate_index.h"
#include "index/partition_index.h"
#include "model/two_tower_model.h"

namespace tt {

struct TrainingMetadata {
  std::string library_version;
  std::string data_source;
  std::string data_fingerprint;  // table_fingerprint() of interactions and candidates
  uint64_t seed = 0;
  size_t epochs = 0;  // in all: a warm-started model counts the epochs it started from
  // Where the shuffling stream of the last epoch left off: warm-started training continues it.
  std::optional<Rng::State> shuffle_state;
  std::map<std::string, double> metrics;  // final FactorizedTopK metrics by TFRS name
  double train_seconds = 0.0;
  int64_t created_unix = 0;
  // Training-row statistics: each candidate key's count (the most-popular baseline of
  // tt_model_evaluate) and, with task.sampling_probability, its estimated sampling probability
  // per draw (what the logQ correction used; training only, serving never reads it).
  std::map<std::string, uint64_t> candidate_counts;
  std::map<std::string, double> sampling_probability;
  size_t best_epoch = 0;  // early stopping: the epoch whose weights these are (0: the last)
};

// A model whose index holds one contiguous slice of a catalogue (sharded serving,
// docs/distributed.md): shard `index` of `count` holds catalogue rows [offset, offset + the
// index's size), where offset = floor(index * catalogue_size / count). Ids the C API hands out
// for such a model are catalogue rows (index position + offset), so the shards' answers merge.
struct ShardInfo {
  static constexpr size_t kMaxCount = 65536;
  size_t index = 0;
  size_t count = 1;
  size_t offset = 0;
  size_t catalogue_size = 0;
  // First catalogue row of shard i of `count` (the rows of shard i end where shard i + 1's start).
  // i * n / count without overflow (i < count <= 2^32, so i * (n % count) fits).
  static size_t begin(size_t i, size_t count, size_t n) { return i * (n / count) + i * (n % count) / count; }
};

class RetrievalModel {
 public:
  explicit RetrievalModel(TwoTowerModel model) : model_(std::move(model)) {}

  TwoTowerModel& model() { return model_; }
  const TwoTowerModel& model() const { return model_; }
  const CandidateIndex& index() const { return index_; }
  void set_index(CandidateIndex index) {
    index_ = std::move(index);
    apply_search_precision();
  }
  // Set when the index is a shard of a larger catalogue (persist/convert.h shard_model);
  // build_index clears it (the new index is the whole catalogue it was given).
  const std::optional<ShardInfo>& shard() const { return shard_; }
  void set_shard(std::optional<ShardInfo> shard) { shard_ = shard; }
  TrainingMetadata& metadata() { return meta_; }
  const TrainingMetadata& metadata() const { return meta_; }
  // Optimizer state as Optimizer::save_state wrote it (empty: none), for resuming training.
  std::vector<uint8_t>& optimizer_state() { return optimizer_state_; }
  const std::vector<uint8_t>& optimizer_state() const { return optimizer_state_; }

  // The precision the model file stores the index embeddings and the tower weights at
  // (embedding tables and dense kernels; biases are always f32). In memory everything is
  // float32, already rounded to these precisions (a loaded quantized file is dequantized), so
  // scores reflect the quantization, and quantize_rows(index().embeddings(),
  // candidate_precision()) gives back exactly the stored bytes (and int8 scales).
  // Set them with tt::quantize_model (persist/convert.h), which rounds the values.
  Precision candidate_precision() const { return candidate_precision_; }
  Precision weights_precision() const { return weights_precision_; }
  // Records the precisions without touching the values (the loader, whose values are on the grid).
  void set_precisions(Precision candidates, Precision weights) {
    candidate_precision_ = candidates;
    weights_precision_ = weights;
    apply_search_precision();
  }

  // The precision top-k search scans the index at (CandidateIndex::set_scan_precision): by
  // default (nullopt) the stored index precision when that is bf16 or int8, else float32. The
  // choice holds across index rebuilds and quantization. fp16 is refused (no fast scan).
  void set_search_precision(std::optional<Precision> p);
  Precision search_precision() const { return index_.scan_precision(); }

  // Embeds every row of `catalogue` with the candidate tower and makes it the index, keyed by
  // the spec's candidate id column, rounded to candidate_precision(). New items need no
  // retraining. The approximate index is built with it when the catalogue has at least
  // kAutoAnnCandidates rows or the model had one (build_ann), unless drop_ann turned it off;
  // its recall is calibrated on up to 256 rows of `queries` (held-out queries) if given, else
  // on a sample of the candidates.
  void build_index(const Table& catalogue, ThreadPool& pool, const Table* queries = nullptr);

  // Catalogues this large get an approximate index without being asked.
  static constexpr size_t kAutoAnnCandidates = 100000;
  // Builds (or rebuilds) the approximate index over the current index, calibrated on `queries`
  // (up to 256 rows) or on a sample of the candidates; later index rebuilds keep one with the
  // same options. Throws invalid_argument for an empty index or more partitions than candidates.
  void build_ann(const PartitionBuildOptions& options, ThreadPool& pool, const Table* queries = nullptr);
  // Removes the approximate index; index rebuilds no longer make one.
  void drop_ann();

  // Query embeddings for the rows of `queries` (which needs the query tower's columns).
  void embed_queries(const Table& queries, Matrix& out) const;

 private:
  TwoTowerModel model_;
  CandidateIndex index_;
  std::optional<ShardInfo> shard_;
  TrainingMetadata meta_;
  std::vector<uint8_t> optimizer_state_;
  Precision candidate_precision_ = Precision::f32;
  Precision weights_precision_ = Precision::f32;
  std::optional<Precision> search_precision_;
  // How build_index treats the approximate index: automatic (by catalogue size), or as
  // build_ann / drop_ann last said.
  enum class AnnPolicy { automatic, keep, none } ann_policy_ = AnnPolicy::automatic;
  PartitionBuildOptions ann_options_;

  void apply_search_precision();
};

// A stable 64-bit fingerprint (xxh64, hex) of a table's column names, types and values.
std::string table_fingerprint(const Table& t);
// The id column's values as strings (int64 ids in decimal), the keys of an index.
std::vector<std::string> candidate_keys(const Table& catalogue, const std::string& id_column);

}  // namespace tt
