#include "model/tower.h"

#include <algorithm>

#include "base/error.h"
#include "nn/embedding.h"
#include "nn/init.h"

namespace tt {

// Floats a layer's weight gradients take in a share's partial buffer: kernel, then bias.
static size_t partial_floats(const Dense& l) { return (l.in() + 1) * l.out(); }

Tower::Tower(std::string prefix, TowerSpec spec) : prefix_(std::move(prefix)), spec_(std::move(spec)) {
  for (const auto& f : spec_.features) encoders_.emplace_back(f);
}

void Tower::fit(const Table& interactions, const Table& candidates) {
  for (auto& e : encoders_) e.fit(interactions, candidates);
}

size_t Tower::input_dim() const {
  size_t n = 0;
  for (const auto& e : encoders_) n += e.output_dim();
  return n;
}

void Tower::build(Rng& rng) {
  allocate();
  // Keras draws embeddings uniform(-0.05, 0.05) and dense kernels Glorot-uniform.
  for (auto& p : embeddings_) uniform_fill(p.value, -0.05f, 0.05f, rng);
  for (auto& l : layers_) l.initialize(rng);
}

std::vector<ParameterShape> Tower::parameter_shapes() const {
  std::vector<ParameterShape> shapes;
  size_t in = 0;
  for (const auto& e : encoders_) {
    if (!e.fitted()) fail(ErrorKind::invalid_argument, "feature '" + e.spec().name + "' is not fitted");
    in += e.output_dim();
    if (e.has_embedding())
      shapes.push_back({prefix_ + "/" + e.spec().name + "/embedding", e.table_rows(), e.spec().embedding_dim});
  }
  for (size_t i = 0; i < spec_.layers.size(); ++i) {
    const std::string name = prefix_ + "/dense_" + std::to_string(i);
    shapes.push_back({name + "/kernel", in, spec_.layers[i]});
    shapes.push_back({name + "/bias", 1, spec_.layers[i]});
    in = spec_.layers[i];
  }
  return shapes;
}

void Tower::allocate() {
  embeddings_.clear();
  embedding_of_.clear();
  column_offset_.clear();
  layers_.clear();
  size_t offset = 0;
  for (const auto& e : encoders_) {
    if (!e.fitted()) fail(ErrorKind::invalid_argument, "feature '" + e.spec().name + "' is not fitted");
    column_offset_.push_back(offset);
    offset += e.output_dim();
    if (e.has_embedding()) {
      embedding_of_.push_back(static_cast<int>(embeddings_.size()));
      embeddings_.emplace_back(prefix_ + "/" + e.spec().name + "/embedding", e.table_rows(), e.spec().embedding_dim,
                               true);
    } else {
      embedding_of_.push_back(-1);
    }
  }
  size_t in = offset;
  for (size_t i = 0; i < spec_.layers.size(); ++i) {
    const bool relu = i + 1 < spec_.layers.size();
    layers_.emplace_back(prefix_ + "/dense_" + std::to_string(i), in, spec_.layers[i], relu);
    in = spec_.layers[i];
  }
}

EncodedBatch Tower::encode(const Table& t) const {
  EncodedBatch b;
  b.rows = t.num_rows();
  b.features.resize(encoders_.size());
  for (size_t f = 0; f < encoders_.size(); ++f) encoders_[f].encode(t, b.features[f]);
  return b;
}

void Tower::assemble_input(const EncodedBatch& batch, Matrix& input) const {
  input.resize(batch.rows, input_dim());
  assemble_rows(batch, input, 0, batch.rows);
}

void Tower::assemble_rows(const EncodedBatch& batch, Matrix& input, size_t r0, size_t r1) const {
  if (batch.features.size() != encoders_.size())
    fail(ErrorKind::invalid_argument, prefix_ + " tower: batch has " + std::to_string(batch.features.size()) +
                                          " features, expected " + std::to_string(encoders_.size()));
  const size_t in = input_dim();
  for (size_t f = 0; f < encoders_.size(); ++f) {
    const EncodedFeature& ef = batch.features[f];
    Slice out{input.row(r0), in, column_offset_[f]};
    const int emb = embedding_of_[f];
    if (emb < 0) {
      for (size_t i = r0; i < r1; ++i) *out.row(i - r0) = ef.values[i];
    } else {
      const std::span<const int32_t> ids(ef.ids.data() + r0 * ef.width, (r1 - r0) * ef.width);
      if (encoders_[f].pooled())
        pooled_embedding_forward(embeddings_[emb], ids, ef.width, out, encoders_[f].spec().pooling);
      else
        embedding_forward(embeddings_[emb], ids, out);
    }
  }
}

void Tower::start_step(size_t rows, size_t shares, TowerActivations& act) const {
  if (!built()) fail(ErrorKind::invalid_argument, prefix_ + " tower is not built");
  const size_t n = layers_.size();
  act.input.resize(rows, input_dim());
  act.outputs.resize(n);
  act.grads.resize(n);  // grads[i] for i < n - 1: dL/d(output of layer i); grads[n - 1]: dL/d(input)
  for (size_t i = 0; i < n; ++i) {
    act.outputs[i].resize(rows, layers_[i].out());
    act.grads[i].resize(rows, i + 1 < n ? layers_[i].out() : input_dim());
  }
  size_t per_share = 0;
  for (const Dense& l : layers_) per_share += partial_floats(l);
  act.partial_grads.resize(shares);
  for (auto& g : act.partial_grads) g.resize(per_share);
}

void Tower::forward_rows(const EncodedBatch& batch, TowerActivations& act, size_t r0, size_t r1) const {
  assemble_rows(batch, act.input, r0, r1);
  const Matrix* x = &act.input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    layers_[i].forward_rows(*x, act.outputs[i], r0, r1);
    x = &act.outputs[i];
  }
}

void Tower::backward_rows(TowerActivations& act, Matrix& d_out, size_t share, size_t r0, size_t r1) const {
  const size_t n = layers_.size();
  // The share's buffer holds layer 0's kernel and bias gradients, then layer 1's, ...
  float* partial = act.partial_grads[share].data() + act.partial_grads[share].size();
  for (size_t i = n; i-- > 0;) {
    const Dense& l = layers_[i];
    partial -= partial_floats(l);
    const Matrix& x = i == 0 ? act.input : act.outputs[i - 1];
    Matrix& dy = i + 1 == n ? d_out : act.grads[i];
    Matrix& dx = i == 0 ? act.grads[n - 1] : act.grads[i - 1];
    l.backward_rows(x, act.outputs[i], dy, &dx, r0, r1, partial, partial + l.in() * l.out());
  }
}

void Tower::finish_backward(const EncodedBatch& batch, TowerActivations& act) {
  for (size_t k = 0; k < finish_pieces(); ++k) finish_piece(k, batch, act);
}

void Tower::finish_piece(size_t k, const EncodedBatch& batch, TowerActivations& act) {
  if (k < embeddings_.size()) {
    // The embedding table's rows: the input gradient's columns of its feature, scattered.
    const size_t f = static_cast<size_t>(std::find(embedding_of_.begin(), embedding_of_.end(), static_cast<int>(k)) -
                                         embedding_of_.begin());
    ConstSlice d{act.grads[layers_.size() - 1].data(), input_dim(), column_offset_[f]};
    const EncodedFeature& ef = batch.features[f];
    if (encoders_[f].pooled())
      pooled_embedding_backward(embeddings_[k], ef.ids, ef.width, d, encoders_[f].spec().pooling);
    else
      embedding_backward(embeddings_[k], ef.ids, d);
    return;
  }
  // A layer's weight gradients: the shares' partial sums, added in share order.
  const size_t layer = k - embeddings_.size();
  size_t offset = 0;
  for (size_t i = 0; i < layer; ++i) offset += partial_floats(layers_[i]);
  Dense& l = layers_[layer];
  float* kernel = l.kernel.grad.data();
  float* bias = l.bias.grad.data();
  const size_t kn = l.in() * l.out();
  for (size_t s = 0; s < act.partial_grads.size(); ++s) {
    const float* p = act.partial_grads[s].data() + offset;
    if (s == 0) {
      std::copy_n(p, kn, kernel);
      std::copy_n(p + kn, l.out(), bias);
    } else {
      for (size_t j = 0; j < kn; ++j) kernel[j] += p[j];
      for (size_t j = 0; j < l.out(); ++j) bias[j] += p[kn + j];
    }
  }
}

std::vector<Parameter*> Tower::piece_parameters(size_t k) {
  if (k < embeddings_.size()) return {&embeddings_[k]};
  Dense& l = layers_[k - embeddings_.size()];
  return {&l.kernel, &l.bias};
}

void Tower::embed(const EncodedBatch& batch, Matrix& out, TowerScratch& s) const {
  if (!built()) fail(ErrorKind::invalid_argument, prefix_ + " tower is not built");
  assemble_input(batch, s.input);
  s.outputs.resize(layers_.size());
  const Matrix* x = &s.input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Matrix& y = i + 1 == layers_.size() ? out : s.outputs[i];
    layers_[i].forward(*x, y);
    x = &y;
  }
}

void Tower::embed(const EncodedBatch& batch, Matrix& out, ThreadPool& pool) const {
  const size_t n = batch.rows;
  if (n <= kEmbedBlockRows) {
    TowerScratch s;
    embed(batch, out, s);
    return;
  }
  Matrix input(n, input_dim());
  std::vector<Matrix> outputs(layers_.size());
  for (size_t i = 0; i < layers_.size(); ++i) outputs[i].resize(n, layers_[i].out());
  pool.for_each((n + kEmbedBlockRows - 1) / kEmbedBlockRows, [&](size_t b) {
    const size_t r0 = b * kEmbedBlockRows, r1 = std::min(n, r0 + kEmbedBlockRows);
    assemble_rows(batch, input, r0, r1);
    const Matrix* x = &input;
    for (size_t i = 0; i < layers_.size(); ++i) {
      layers_[i].forward_rows(*x, outputs[i], r0, r1);
      x = &outputs[i];
    }
  });
  out = std::move(outputs.back());
}

std::vector<Parameter*> Tower::parameters() {
  std::vector<Parameter*> p;
  for (auto& e : embeddings_) p.push_back(&e);
  for (auto& l : layers_) {
    p.push_back(&l.kernel);
    p.push_back(&l.bias);
  }
  return p;
}

std::vector<const Parameter*> Tower::parameters() const {
  std::vector<const Parameter*> p;
  for (auto& e : embeddings_) p.push_back(&e);
  for (auto& l : layers_) {
    p.push_back(&l.kernel);
    p.push_back(&l.bias);
  }
  return p;
}

}  // namespace tt
