// A fully connected layer y = act(x W + b) on oneDNN's sgemm. The kernel is stored in Keras's
// layout [in x out]. The row-range entry points let the threads of a training step each take a
// share of a batch's rows: rows are independent everywhere except in the weight gradients,
// which each range writes as its own partial sum for the caller to add up in a fixed order.
#pragma once

#include <string>

#include "base/random.h"
#include "nn/matrix.h"
#include "nn/parameter.h"

namespace tt {

class Dense {
 public:
  Dense(std::string name, size_t in, size_t out, bool relu);

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

  // Rows [r0, r1) of forward(); y must already have x's rows and out() columns.
  void forward_rows(const Matrix& x, Matrix& y, size_t r0, size_t r1) const;
  // Rows [r0, r1) of backward(): dy and dx (if given, already sized) for those rows, and those
  // rows' share of the kernel gradient (in x out, row-major) and bias gradient (out), both
  // overwritten.
  void backward_rows(const Matrix& x, const Matrix& y, Matrix& dy, Matrix* dx, size_t r0, size_t r1, float* d_kernel,
                     float* d_bias) const;

  Parameter kernel;  // [in x out]
  Parameter bias;    // [1 x out]

 private:
  void check_input(const Matrix& x) const;

  size_t in_, out_;
  bool relu_;
};

}  // namespace tt
