#include "model/tower.h"

#include "base/error.h"
#include "nn/dnnl_context.h"
#include "nn/embedding.h"
#include "nn/init.h"

namespace tt {

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
      embeddings_.emplace_back(prefix_ + "/" + e.spec().name + "/embedding", e.table_rows(), e.spec().embedding_dim, true);
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
  if (batch.features.size() != encoders_.size())
    fail(ErrorKind::invalid_argument, prefix_ + " tower: batch has " + std::to_string(batch.features.size()) +
                                          " features, expected " + std::to_string(encoders_.size()));
  const size_t in = input_dim();
  input.resize(batch.rows, in);
  for (size_t f = 0; f < encoders_.size(); ++f) {
    const EncodedFeature& ef = batch.features[f];
    Slice out{input.data(), in, column_offset_[f]};
    const int emb = embedding_of_[f];
    if (emb < 0) {
      for (size_t i = 0; i < batch.rows; ++i) *out.row(i) = ef.values[i];
    } else if (encoders_[f].spec().kind == FeatureKind::text) {
      pooled_embedding_forward(embeddings_[emb], ef.ids, ef.width, out);
    } else {
      embedding_forward(embeddings_[emb], ef.ids, out);
    }
  }
}

const Matrix& Tower::forward_train(const EncodedBatch& batch, TowerActivations& act) {
  if (!built()) fail(ErrorKind::invalid_argument, prefix_ + " tower is not built");
  assemble_input(batch, act.input);
  act.outputs.resize(layers_.size());
  const Matrix* x = &act.input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    layers_[i].forward(*x, act.outputs[i]);
    x = &act.outputs[i];
  }
  return *x;
}

void Tower::backward(const EncodedBatch& batch, TowerActivations& act, const Matrix& d_out) {
  const size_t n = layers_.size();
  act.grads.resize(n + 1);
  act.grads[n - 1] = d_out;
  for (size_t i = n; i-- > 0;) {
    const Matrix& x = i == 0 ? act.input : act.outputs[i - 1];
    layers_[i].backward(x, act.outputs[i], act.grads[i], i == 0 ? &act.grads[n] : &act.grads[i - 1]);
  }
  const Matrix& dx = act.grads[n];
  const size_t in = input_dim();
  for (size_t f = 0; f < encoders_.size(); ++f) {
    const int emb = embedding_of_[f];
    if (emb < 0) continue;
    ConstSlice d{dx.data(), in, column_offset_[f]};
    const EncodedFeature& ef = batch.features[f];
    if (encoders_[f].spec().kind == FeatureKind::text)
      pooled_embedding_backward(embeddings_[emb], ef.ids, ef.width, d);
    else
      embedding_backward(embeddings_[emb], ef.ids, d);
  }
}

void Tower::embed(const EncodedBatch& batch, Matrix& out, TowerScratch& s) const {
  if (!built()) fail(ErrorKind::invalid_argument, prefix_ + " tower is not built");
  assemble_input(batch, s.input);
  s.outputs.resize(layers_.size());
  const Matrix* x = &s.input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Dense& l = layers_[i];
    Matrix& y = i + 1 == layers_.size() ? out : s.outputs[i];
    y.resize(x->rows(), l.out());
    if (x->rows() == 0) { x = &y; continue; }
    // y = x W + b: the bias is broadcast into y first, then the GEMM accumulates onto it.
    for (size_t r = 0; r < y.rows(); ++r) std::copy_n(l.bias.value.data(), l.out(), y.row(r));
    sgemm(false, false, x->rows(), l.out(), l.in(), 1.0f, x->data(), l.in(), l.kernel.value.data(), l.out(), 1.0f,
          y.data(), l.out());
    if (l.relu())
      for (float& v : y.span()) v = v > 0.0f ? v : 0.0f;
    x = &y;
  }
}

std::vector<Parameter*> Tower::parameters() {
  std::vector<Parameter*> p;
  for (auto& e : embeddings_) p.push_back(&e);
  for (auto& l : layers_) { p.push_back(&l.kernel); p.push_back(&l.bias); }
  return p;
}

std::vector<const Parameter*> Tower::parameters() const {
  std::vector<const Parameter*> p;
  for (auto& e : embeddings_) p.push_back(&e);
  for (auto& l : layers_) { p.push_back(&l.kernel); p.push_back(&l.bias); }
  return p;
}

}  // namespace tt
