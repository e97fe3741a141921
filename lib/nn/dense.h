// A fully connected layer y = act(x W + b) on oneDNN inner-product primitives (forward,
// backward data, backward weights). The kernel is stored in Keras's layout [in x out], which
// oneDNN reads directly as its "io" weights format.
#pragma once

#include <map>
#include <memory>

#include "base/random.h"
#include "nn/matrix.h"
#include "nn/parameter.h"

namespace tt {

class Dense {
 public:
  Dense(std::string name, size_t in, size_t out, bool relu);
  ~Dense();
  Dense(Dense&&) noexcept;
  Dense& operator=(Dense&&) noexcept;

  size_t in() const { return in_; }
  size_t out() const { return out_; }
  bool relu() const { return relu_; }

  // Glorot-uniform kernel, zero bias (Keras's Dense defaults).
  void initialize(Rng& rng);

  // y (N x out) = act(x (N x in) W + b).
  void forward(const Matrix& x, Matrix& y) const;
  // Given x and y from forward and dy = dL/dy (overwritten with dL/d(pre-activation)), writes
  // kernel.grad and bias.grad and, if dx is given, dx = dL/dx.
  void backward(const Matrix& x, const Matrix& y, Matrix& dy, Matrix* dx);

  Parameter kernel;  // [in x out]
  Parameter bias;    // [1 x out]

 private:
  struct Primitives;
  Primitives& primitives(size_t batch) const;

  size_t in_, out_;
  bool relu_;
  mutable std::map<size_t, std::unique_ptr<Primitives>> cache_;  // by batch size
};

}  // namespace tt
