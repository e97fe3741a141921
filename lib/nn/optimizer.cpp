#include "nn/optimizer.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <unordered_map>

#include "base/error.h"
#include "nn/row_kernels.h"

namespace tt {

namespace {

// Per-parameter slots (accumulators, moments), created on first use with the parameter's shape.
// A parameter's slots live in a deque: creating slot 1 must not move slot 0, since Adam holds a
// reference to its first moment while it fetches the second.
class Slots {
 public:
  // Creates the slots a parameter lacks. Not thread-safe; get() on existing slots is.
  void create(const Parameter& p, size_t count, float init) {
    for (size_t s = 0; s < count; ++s) get(p, s, init);
  }
  Matrix& get(const Parameter& p, size_t slot, float init) {
    auto found = slots_.find(p.name);
    if (found != slots_.end() && slot < found->second.size() && found->second[slot].size() == p.value.size())
      return found->second[slot];
    auto& v = slots_[p.name];
    if (v.size() <= slot) v.resize(slot + 1);
    Matrix& m = v[slot];
    if (m.size() != p.value.size()) {
      m.resize(p.value.rows(), p.value.cols());
      std::fill(m.data(), m.data() + m.size(), init);
    }
    return m;
  }
  void save(ByteWriter& w) const {
    std::vector<std::string> names;
    for (const auto& [name, _] : slots_) names.push_back(name);
    std::sort(names.begin(), names.end());
    w.u64(names.size());
    for (const auto& name : names) {
      const auto& v = slots_.at(name);
      w.str(name);
      w.u64(v.size());
      for (const Matrix& m : v) {
        w.u64(m.rows());
        w.u64(m.cols());
        w.array(std::span<const float>(m.data(), m.size()));
      }
    }
  }
  void load(ByteReader& r, const std::vector<Parameter*>& params) {
    slots_.clear();
    const uint64_t n = r.u64();
    for (uint64_t i = 0; i < n; ++i) {
      std::string name = r.str();
      const Parameter* p = nullptr;
      for (auto* q : params)
        if (q->name == name) p = q;
      if (!p) r.corrupt("optimizer state for unknown parameter '" + name + "'");
      const uint64_t count = r.u64();
      if (count > 4) r.corrupt("too many optimizer slots for '" + name + "'");
      auto& v = slots_[name];
      v.resize(count);
      for (auto& m : v) {
        const uint64_t rows = r.u64(), cols = r.u64();
        auto data = r.array<float>();
        if (rows != p->value.rows() || cols != p->value.cols() || data.size() != rows * cols)
          r.corrupt("optimizer slot shape mismatch for '" + name + "'");
        m.resize(rows, cols);
        std::copy(data.begin(), data.end(), m.data());
      }
    }
  }

 private:
  std::unordered_map<std::string, std::deque<Matrix>> slots_;
};

// Visits the rows to update: all rows of a dense parameter, the touched rows of a sparse one.
template <class F>
void for_each_row(Parameter& p, F&& f) {
  if (p.sparse) {
    for (int32_t r : p.touched) f(static_cast<size_t>(r));
  } else {
    for (size_t r = 0; r < p.value.rows(); ++r) f(r);
  }
}

// grad += weight_decay * value on the rows the step updates (docs/model-spec.md: lazy on
// embedding tables).
void add_weight_decay(Parameter& p, float weight_decay) {
  if (weight_decay == 0.0f) return;
  const size_t cols = p.value.cols();
  for_each_row(p, [&](size_t r) {
    const float* w = p.value.row(r);
    float* g = p.grad.row(r);
    for (size_t k = 0; k < cols; ++k) g[k] += weight_decay * w[k];
  });
}

class Adagrad final : public Optimizer {
 public:
  explicit Adagrad(OptimizerConfig c) : Optimizer(std::move(c)) {}
  void prepare(const std::vector<Parameter*>& params) override {
    for (const Parameter* p : params) slots_.create(*p, 1, config_.initial_accumulator);
  }
  void update(std::span<Parameter* const> params) override {
    const float lr = config_.learning_rate, eps = config_.epsilon;
    for (Parameter* p : params) {
      add_weight_decay(*p, config_.weight_decay);
      Matrix& acc = slots_.get(*p, 0, config_.initial_accumulator);
      // Keras >= 2.11: acc += g²; w -= lr · g / sqrt(acc + eps); the kernel also zeroes the
      // gradient rows it reads.
      if (p->sparse)
        adagrad_rows(p->value.data(), p->grad.data(), acc.data(), p->value.cols(), p->touched.data(), p->touched.size(),
                     lr, eps);
      else
        adagrad_rows(p->value.data(), p->grad.data(), acc.data(), p->value.size(), nullptr, 1, lr, eps);
      p->forget_touched();
    }
  }
  void save_state(ByteWriter& w) const override { slots_.save(w); }
  void load_state(ByteReader& r, std::vector<Parameter*>& params) override { slots_.load(r, params); }

 private:
  Slots slots_;
};

class Adam final : public Optimizer {
 public:
  explicit Adam(OptimizerConfig c) : Optimizer(std::move(c)) {}
  void prepare(const std::vector<Parameter*>& params) override {
    for (const Parameter* p : params) slots_.create(*p, 2, 0.0f);
  }
  void begin_step() override {
    ++t_;
    const double b1 = config_.beta1, b2 = config_.beta2;
    // Keras: lr_t = lr · sqrt(1 - b2^t) / (1 - b1^t); w -= lr_t · m / (sqrt(v) + eps).
    lr_t_ = static_cast<float>(config_.learning_rate * std::sqrt(1.0 - std::pow(b2, t_)) / (1.0 - std::pow(b1, t_)));
  }
  void update(std::span<Parameter* const> params) override {
    const float lr_t = lr_t_;
    const float fb1 = config_.beta1, fb2 = config_.beta2, eps = config_.epsilon;
    for (Parameter* p : params) {
      add_weight_decay(*p, config_.weight_decay);
      Matrix& m = slots_.get(*p, 0, 0.0f);
      Matrix& v = slots_.get(*p, 1, 0.0f);
      // Dense semantics for every parameter: the moments of untouched embedding rows still
      // decay, exactly as Keras's Adam does with a dense gradient of zeros there.
      const size_t n = p->value.size();
      float* w = p->value.data();
      const float* g = p->grad.data();
      float* mm = m.data();
      float* vv = v.data();
      for (size_t k = 0; k < n; ++k) {
        mm[k] = fb1 * mm[k] + (1.0f - fb1) * g[k];
        vv[k] = fb2 * vv[k] + (1.0f - fb2) * g[k] * g[k];
        w[k] -= lr_t * mm[k] / (std::sqrt(vv[k]) + eps);
      }
      p->clear_grad();
    }
  }
  void save_state(ByteWriter& w) const override {
    w.u64(t_);
    slots_.save(w);
  }
  void load_state(ByteReader& r, std::vector<Parameter*>& params) override {
    t_ = r.u64();
    slots_.load(r, params);
  }

 private:
  uint64_t t_ = 0;
  float lr_t_ = 0.0f;
  Slots slots_;
};

class Sgd final : public Optimizer {
 public:
  explicit Sgd(OptimizerConfig c) : Optimizer(std::move(c)) {}
  void prepare(const std::vector<Parameter*>& params) override {
    if (config_.momentum != 0.0f)
      for (const Parameter* p : params) slots_.create(*p, 1, 0.0f);
  }
  void update(std::span<Parameter* const> params) override {
    const float lr = config_.learning_rate, mu = config_.momentum;
    for (Parameter* p : params) {
      add_weight_decay(*p, config_.weight_decay);
      const size_t cols = p->value.cols();
      if (mu == 0.0f) {
        for_each_row(*p, [&](size_t r) {
          float* w = p->value.row(r);
          const float* g = p->grad.row(r);
          for (size_t k = 0; k < cols; ++k) w[k] -= lr * g[k];
        });
      } else {
        // Keras momentum: v = mu · v - lr · g; w += v (dense: velocity of every row moves).
        Matrix& vel = slots_.get(*p, 0, 0.0f);
        const size_t n = p->value.size();
        float* w = p->value.data();
        const float* g = p->grad.data();
        float* v = vel.data();
        for (size_t k = 0; k < n; ++k) {
          v[k] = mu * v[k] - lr * g[k];
          w[k] += v[k];
        }
      }
      p->clear_grad();
    }
  }
  void save_state(ByteWriter& w) const override { slots_.save(w); }
  void load_state(ByteReader& r, std::vector<Parameter*>& params) override { slots_.load(r, params); }

 private:
  Slots slots_;
};

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& c) {
  if (!(c.learning_rate > 0.0f) || !std::isfinite(c.learning_rate))
    fail(ErrorKind::invalid_argument,
         "optimizer: learning_rate must be positive, got " + std::to_string(c.learning_rate));
  if (!(c.weight_decay >= 0.0f) || !std::isfinite(c.weight_decay))
    fail(ErrorKind::invalid_argument, "optimizer: weight_decay must be a finite number >= 0");
  if (c.kind == "adagrad") {
    if (c.initial_accumulator < 0.0f) fail(ErrorKind::invalid_argument, "adagrad: initial_accumulator < 0");
    return std::make_unique<Adagrad>(c);
  }
  if (c.kind == "adam") return std::make_unique<Adam>(c);
  if (c.kind == "sgd") return std::make_unique<Sgd>(c);
  fail(ErrorKind::invalid_argument, "unknown optimizer '" + c.kind + "' (expected adagrad, adam or sgd)");
}

}  // namespace tt
