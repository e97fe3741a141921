// One tower: features -> concatenated input -> dense stack -> embedding. Two paths share the
// weights: a training path that keeps activations for a backward pass (and can split a batch's
// rows across threads), and a const inference path that any number of threads may run at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/parallel.h"
#include "model/feature_encoder.h"
#include "nn/dense.h"
#include "nn/matrix.h"
#include "nn/parameter.h"

namespace tt {

// Activations of one training step, reused across steps.
struct TowerActivations {
  Matrix input;
  std::vector<Matrix> outputs;  // one per layer
  std::vector<Matrix> grads;    // dL/d(output) per layer but the last, then dL/d(input) at the end
  // Per share of the rows (see Tower::start_step): each layer's kernel then bias gradient.
  std::vector<std::vector<float>> partial_grads;
};

// A weight's name and shape as build() creates it.
struct ParameterShape {
  std::string name;
  size_t rows = 0, cols = 0;
};

// Scratch for the inference path (one per calling thread or call).
struct TowerScratch {
  Matrix input;
  std::vector<Matrix> outputs;
};

class Tower {
 public:
  // `prefix` ("query" or "candidate") names the weights: "<prefix>/<feature>/embedding",
  // "<prefix>/dense_<i>/kernel".
  Tower(std::string prefix, TowerSpec spec);

  const std::string& prefix() const { return prefix_; }
  const TowerSpec& spec() const { return spec_; }
  std::vector<FeatureEncoder>& encoders() { return encoders_; }
  const std::vector<FeatureEncoder>& encoders() const { return encoders_; }

  void fit(const Table& interactions, const Table& candidates);
  // Creates embedding tables and dense layers for the fitted features (shapes from the
  // fitted vocabularies) and draws their initial values.
  void build(Rng& rng);
  // Creates the same weights as build(), zero-filled and drawing nothing (a loader then
  // overwrites them with saved values).
  void allocate();
  // The weights build() creates, in parameters() order, from the fitted encoders, without
  // allocating them (a loader checks a file's tensors against these before allocating).
  std::vector<ParameterShape> parameter_shapes() const;
  bool built() const { return !layers_.empty(); }

  EncodedBatch encode(const Table& t) const;
  size_t input_dim() const;
  size_t output_dim() const { return spec_.layers.back(); }

  // A training step in phases, for a batch whose rows are split into `shares` row
  // ranges that threads process concurrently (rows are independent until the weight
  // gradients, which each share writes separately and finish_backward adds in share order, so
  // the result depends on the number of shares, never on scheduling):
  //   start_step (one thread), forward_rows per share, the loss, backward_rows per share,
  //   finish_backward (one thread; it writes every parameter's gradient).
  void start_step(size_t rows, size_t shares, TowerActivations& act) const;
  void forward_rows(const EncodedBatch& batch, TowerActivations& act, size_t r0, size_t r1) const;
  // d_out may be overwritten (rows r0..r1 only).
  void backward_rows(TowerActivations& act, Matrix& d_out, size_t share, size_t r0, size_t r1) const;
  void finish_backward(const EncodedBatch& batch, TowerActivations& act);
  // finish_backward in independent pieces, one per weight set (an embedding table, then each
  // layer's kernel and bias): piece k writes only the gradients of piece_parameters(k), so the
  // pieces may run on different threads at once (and each can be followed by its update).
  size_t finish_pieces() const { return embeddings_.size() + layers_.size(); }
  void finish_piece(size_t k, const EncodedBatch& batch, TowerActivations& act);
  std::vector<Parameter*> piece_parameters(size_t k);
  const Matrix& train_output(const TowerActivations& act) const { return act.outputs.back(); }

  // Inference (const, thread-safe): out = tower(batch).
  void embed(const EncodedBatch& batch, Matrix& out, TowerScratch& scratch) const;
  // The same for a large batch (a catalogue): fixed blocks of kEmbedBlockRows rows embedded in
  // parallel on `pool`, so the result does not depend on the thread count.
  void embed(const EncodedBatch& batch, Matrix& out, ThreadPool& pool) const;
  static constexpr size_t kEmbedBlockRows = 4096;

  std::vector<Parameter*> parameters();
  std::vector<const Parameter*> parameters() const;
  std::vector<Dense>& layers() { return layers_; }
  std::vector<Parameter>& embeddings() { return embeddings_; }

 private:
  void assemble_input(const EncodedBatch& batch, Matrix& input) const;
  void assemble_rows(const EncodedBatch& batch, Matrix& input, size_t r0, size_t r1) const;

  std::string prefix_;
  TowerSpec spec_;
  std::vector<FeatureEncoder> encoders_;
  std::vector<Parameter> embeddings_;  // one per feature with an embedding, in feature order
  std::vector<int> embedding_of_;      // feature index -> embeddings_ index or -1
  std::vector<size_t> column_offset_;  // feature index -> first column in the input
  std::vector<Dense> layers_;
};

}  // namespace tt
