// A trainable tensor with its gradient. Embedding tables get row-sparse gradients: only the
// rows a batch touched are accumulated and later updated, which equals the dense update because
// untouched rows have zero gradient.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nn/matrix.h"

namespace tt {

struct Parameter {
  Parameter() = default;
  Parameter(std::string name_, size_t rows, size_t cols, bool row_sparse)
      : name(std::move(name_)), value(rows, cols), grad(rows, cols), sparse(row_sparse) {
    grad.zero();
    if (sparse) is_touched.assign(rows, 0);
  }

  std::string name;
  Matrix value;
  Matrix grad;
  bool sparse = false;
  std::vector<int32_t> touched;     // rows with a gradient this step, in first-touch order
  std::vector<uint8_t> is_touched;  // one flag per row

  float* grad_row(int32_t r) {
    if (!is_touched[r]) {
      is_touched[r] = 1;
      touched.push_back(r);
    }
    return grad.row(r);
  }

  // Zeroes the gradient for the next step (only the touched rows of a sparse parameter).
  void clear_grad() {
    if (!sparse) {
      grad.zero();
      return;
    }
    for (int32_t r : touched) std::fill(grad.row(r), grad.row(r) + grad.cols(), 0.0f);
    forget_touched();
  }
  // The same when the gradient rows are zero already (an update that zeroed them as it read them).
  void forget_touched() {
    for (int32_t r : touched) is_touched[r] = 0;
    touched.clear();
  }
};

}  // namespace tt
