// Offline model conversion (`twotower convert`, tt_model_convert/export/import): quantize the
// index and the weights, strip training-only content, export embeddings, weights and
// preprocessing to files other tools read, import a model from such files, and compare the
// answers of two models. Formats: docs/convert.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/precision.h"
#include "model/retrieval_model.h"

namespace tt {

class ThreadPool;

// Rounds the index embeddings and/or the weights (embedding tables and dense kernels, not the
// biases) to a precision and records it, so that saving stores them at that precision. A part
// left nullopt keeps its precision. Going back to f32 keeps the rounded values. Throws
// invalid_argument (naming the tensor, row and column) for a value beyond fp16/bf16's range.
void quantize_model(RetrievalModel& model, std::optional<Precision> index, std::optional<Precision> weights);

// Drops what only training needs: optimizer state and training metadata (data source and
// fingerprint, seed, epochs, metrics, timings). The model answers exactly as before.
void strip_model(RetrievalModel& model);

// Keeps shard `index` of `count` of the model's candidate index: catalogue rows
// [ShardInfo::begin(index), ShardInfo::begin(index + 1)), with their keys, embeddings and
// precision, and records the shard (model.shard()). An approximate index is rebuilt over the
// slice (default partitions for its size, or `ann` when given). Throws invalid_argument for a
// model that is already a shard, count outside 1..ShardInfo::kMaxCount or above the candidates,
// or index >= count; the model is unchanged then.
void shard_model(RetrievalModel& model, size_t index, size_t count, ThreadPool& pool,
                 const PartitionBuildOptions* ann = nullptr);

// Accuracy of the model as served: for each row of `test` (query columns and the candidate id
// column), the number of index rows scoring strictly higher than the row's own candidate (looked
// up in the index by key); a hit at k when fewer than k do (FactorizedTopK's rule, with the
// stored, possibly quantized, candidate embeddings). Rows whose candidate is not in the index
// are skipped. Returns one accuracy per k, and sets `examples` to the rows counted.
std::vector<double> index_topk_accuracy(const RetrievalModel& model, const Table& test, const std::vector<size_t>& ks,
                                        ThreadPool& pool, size_t* examples = nullptr);

// Mean over the rows of `queries` of |top-k of a ∩ top-k of b| / min(k, candidates): 1 when the
// two models return the same top-k sets. Both indexes must hold the same keys in the same order.
double topk_overlap(const RetrievalModel& a, const RetrievalModel& b, const Table& queries, size_t k, ThreadPool& pool);

struct ExportOptions {
  const Table* queries = nullptr;  // also export the query embeddings of these rows
  bool npy = true;                 // embeddings as .npy
  bool fvecs = true;               // embeddings as .fvecs
  bool candidates = true;          // candidate_embeddings.{npy,fvecs} and candidate_keys.txt
  bool weights = true;             // weights.safetensors
  bool preprocessing = true;       // spec.json, preprocessing.json and vocab/*.txt
};

// Writes the files into `dir` (created if needed; existing files of the same names are
// replaced, each atomically) and returns their paths. Everything is encoded before the first
// file is written, so a model that cannot be exported (a vocabulary entry with a newline)
// leaves no file behind.
std::vector<std::string> export_model(const RetrievalModel& model, const std::string& dir,
                                      const ExportOptions& options);

struct ImportOptions {
  // Directory the defaults below are relative to (an export directory).
  std::string dir;
  std::string spec_path;           // default <dir>/spec.json
  std::string preprocessing_path;  // default <dir>/preprocessing.json, if it exists
  std::string weights_path;        // .safetensors or .npz; default <dir>/weights.safetensors, else weights.npz
  // The index: from `candidates` (embedded by the imported candidate tower), else from
  // candidate_embeddings_path (.npy or .fvecs; default <dir>/candidate_embeddings.npy) and
  // candidate_keys_path (default <dir>/candidate_keys.txt).
  const Table* candidates = nullptr;
  std::string candidate_embeddings_path;
  std::string candidate_keys_path;
  // Features with no state in preprocessing.json (and no vocabulary or boundaries in the spec)
  // are fitted on these tables, as training would fit them.
  const Table* interactions = nullptr;
  int threads = 0;
};

// Builds a model from a spec, preprocessing state and weights. Every tensor the spec implies must
// be present exactly once with its shape ([rows, cols], or [cols] for a 1 x cols bias) and finite
// values; anything else is an error naming the file and the tensor.
RetrievalModel import_model(const ImportOptions& options);

}  // namespace tt
