#include "nn/dense.h"

#include <algorithm>

#include "base/error.h"
#include "nn/gemm.h"
#include "nn/init.h"

namespace tt {

Dense::Dense(std::string name, size_t in, size_t out, bool relu)
    : kernel(name + "/kernel", in, out, false), bias(name + "/bias", 1, out, false), in_(in), out_(out), relu_(relu) {
  if (in == 0 || out == 0) fail(ErrorKind::invalid_argument, "dense layer '" + name + "' needs positive sizes");
  kernel.value.zero();
  bias.value.zero();
}

void Dense::initialize(Rng& rng) {
  glorot_uniform(kernel.value, in_, out_, rng);
  bias.value.zero();
}

void Dense::check_input(const Matrix& x) const {
  if (x.cols() != in_)
    fail(ErrorKind::invalid_argument,
         kernel.name + ": input has " + std::to_string(x.cols()) + " columns, expected " + std::to_string(in_));
}

void Dense::forward(const Matrix& x, Matrix& y) const {
  check_input(x);
  y.resize(x.rows(), out_);
  forward_rows(x, y, 0, x.rows());
}

void Dense::forward_rows(const Matrix& x, Matrix& y, size_t r0, size_t r1) const {
  if (r1 <= r0) return;
  // The bias is broadcast into y first; the GEMM then accumulates onto it. A plain loop: a
  // memmove call per row of a few dozen floats costs more than the copy.
  const float* b = bias.value.data();
  for (size_t r = r0; r < r1; ++r) {
    float* yr = y.row(r);
    for (size_t k = 0; k < out_; ++k) yr[k] = b[k];
  }
  sgemm(false, false, static_cast<long>(r1 - r0), static_cast<long>(out_), static_cast<long>(in_), 1.0f, x.row(r0),
        static_cast<long>(in_), kernel.value.data(), static_cast<long>(out_), 1.0f, y.row(r0), static_cast<long>(out_));
  if (relu_) {
    float* v = y.row(r0);
    const size_t n = (r1 - r0) * out_;
    for (size_t k = 0; k < n; ++k) v[k] = v[k] > 0.0f ? v[k] : 0.0f;
  }
}

void Dense::backward(const Matrix& x, const Matrix& y, Matrix& dy, Matrix* dx) {
  check_input(x);
  if (dx) dx->resize(x.rows(), in_);
  backward_rows(x, y, dy, dx, 0, x.rows(), kernel.grad.data(), bias.grad.data());
}

void Dense::backward_rows(const Matrix& x, const Matrix& y, Matrix& dy, Matrix* dx, size_t r0, size_t r1,
                          float* d_kernel, float* d_bias) const {
  std::fill(d_bias, d_bias + out_, 0.0f);
  if (r1 <= r0) {
    std::fill(d_kernel, d_kernel + in_ * out_, 0.0f);
    return;
  }
  const long rows = static_cast<long>(r1 - r0), in = static_cast<long>(in_), out = static_cast<long>(out_);
  float* g = dy.row(r0);
  const size_t n = (r1 - r0) * out_;
  if (relu_) {
    // ReLU's derivative is 1 where the output is positive, 0 elsewhere (0 at 0, like TensorFlow).
    const float* o = y.row(r0);
    for (size_t k = 0; k < n; ++k) g[k] = o[k] > 0.0f ? g[k] : 0.0f;
  }
  for (size_t r = 0; r < r1 - r0; ++r)
    for (size_t k = 0; k < out_; ++k) d_bias[k] += g[r * out_ + k];
  // dW = xᵀ dy ; dx = dy Wᵀ
  sgemm(true, false, in, out, rows, 1.0f, x.row(r0), in, g, out, 0.0f, d_kernel, out);
  if (dx) sgemm(false, true, rows, in, out, 1.0f, g, out, kernel.value.data(), out, 0.0f, dx->row(r0), in);
}

}  // namespace tt
