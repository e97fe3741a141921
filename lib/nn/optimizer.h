// Optimizers with Keras's semantics. Row-sparse parameters (embedding tables) update only the
// rows their gradient touched, which for Adagrad and SGD equals the dense update exactly.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "nn/parameter.h"

namespace tt {

struct OptimizerConfig {
  std::string kind = "adagrad";  // adagrad | adam | sgd
  float learning_rate = 0.1f;
  float initial_accumulator = 0.1f;    // adagrad
  float epsilon = 1e-7f;               // adagrad, adam
  float beta1 = 0.9f, beta2 = 0.999f;  // adam
  float momentum = 0.0f;               // sgd
  // L2 regularisation, every kind: lambda * w joins each gradient before the step (the gradient
  // of lambda / 2 * |w|^2). Embedding tables decay only the rows a batch touched (lazy L2, as
  // their updates are sparse); dense weights decay every step. 0 = off.
  float weight_decay = 0.0f;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // A step is taken in parts, so threads can update disjoint sets of parameters at once:
  // prepare() (once, on one thread: creates the per-parameter state), begin_step() (once per
  // step, on one thread), then update() on each set.
  virtual void prepare(const std::vector<Parameter*>& params) = 0;
  virtual void begin_step() {}
  virtual void update(std::span<Parameter* const> params) = 0;
  // Optimizer state (accumulators, moments, step count), for checkpoints.
  virtual void save_state(ByteWriter& w) const = 0;
  virtual void load_state(ByteReader& r, std::vector<Parameter*>& params) = 0;
  const OptimizerConfig& config() const { return config_; }

 protected:
  explicit Optimizer(OptimizerConfig c) : config_(std::move(c)) {}
  OptimizerConfig config_;
};

// Throws ErrorKind::invalid_argument for an unknown kind or a non-positive learning rate.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config);

}  // namespace tt
