// Embedding lookups. Outputs are written into a column slice of a wider matrix (the tower's
// concatenated input), so concatenation costs no copy; gradients come back from the same slice
// and land as row-sparse gradients on the table.
#pragma once

#include <cstdint>
#include <span>

#include "nn/parameter.h"

namespace tt {

// A column slice [col, col + width) of a row-major matrix with `stride` floats per row.
struct Slice {
  float* base;
  size_t stride;
  size_t col;
  float* row(size_t r) const { return base + r * stride + col; }
};
struct ConstSlice {
  const float* base;
  size_t stride;
  size_t col;
  const float* row(size_t r) const { return base + r * stride + col; }
};

// out.row(i) = table[ids[i]]. Ids must be in range (checked; ErrorKind::invalid_argument).
void embedding_forward(const Parameter& table, std::span<const int32_t> ids, Slice out);
// table.grad[ids[i]] += dout.row(i), duplicates summed.
void embedding_backward(Parameter& table, std::span<const int32_t> ids, ConstSlice dout);

// How a pooled embedding combines the rows of one input row's ids.
enum class Pooling { mean, sum };

// Masked pooling of token embeddings: out.row(i) = mean (or sum) of table[t] over the non-zero
// ids t in row i of `tokens` (rows x width, 0 = padding); all-padding rows give zeros (Keras's
// masked GlobalAveragePooling1D divides by the number of unmasked steps). Text features and
// mean-pooled multi-valued features use mean; sum-pooled multi-valued features use sum.
void pooled_embedding_forward(const Parameter& table, std::span<const int32_t> tokens, size_t width, Slice out,
                              Pooling pooling = Pooling::mean);
void pooled_embedding_backward(Parameter& table, std::span<const int32_t> tokens, size_t width, ConstSlice dout,
                               Pooling pooling = Pooling::mean);

}  // namespace tt
