#include "nn/embedding.h"

#include <string>

#include "base/error.h"

namespace tt {

static void check_id(const Parameter& table, int32_t id) {
  if (id < 0 || static_cast<size_t>(id) >= table.value.rows())
    fail(ErrorKind::invalid_argument, table.name + ": id " + std::to_string(id) + " outside the table's " +
                                          std::to_string(table.value.rows()) + " rows");
}

// How many lookups ahead a table's rows are prefetched: a batch's rows are scattered over
// tables of up to a few MiB, which a training step's other buffers have pushed out of L2.
constexpr size_t kAhead = 8;

// Prefetches row `id` of `m` (both ends: a row need not start on a cache line) if it is in range.
static void prefetch_row(const Matrix& m, int32_t id) {
  if (id < 0 || static_cast<size_t>(id) >= m.rows()) return;
  const float* p = m.row(static_cast<size_t>(id));
  __builtin_prefetch(p);
  __builtin_prefetch(p + m.cols() - 1);
}

void embedding_forward(const Parameter& table, std::span<const int32_t> ids, Slice out) {
  const size_t dim = table.value.cols();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i + kAhead < ids.size()) prefetch_row(table.value, ids[i + kAhead]);
    check_id(table, ids[i]);
    const float* from = table.value.row(ids[i]);
    float* to = out.row(i);
    for (size_t k = 0; k < dim; ++k) to[k] = from[k];  // inlined: a memcpy call per row costs more
  }
}

void embedding_backward(Parameter& table, std::span<const int32_t> ids, ConstSlice dout) {
  const size_t dim = table.value.cols();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i + kAhead < ids.size()) prefetch_row(table.grad, ids[i + kAhead]);
    float* g = table.grad_row(ids[i]);
    const float* d = dout.row(i);
    for (size_t k = 0; k < dim; ++k) g[k] += d[k];
  }
}

void pooled_embedding_forward(const Parameter& table, std::span<const int32_t> tokens, size_t width, Slice out,
                              Pooling pooling) {
  const size_t dim = table.value.cols();
  const size_t rows = width ? tokens.size() / width : 0;
  // Rows are a few tokens wide: the tokens of the row kAhead / 2 further on are prefetched.
  const size_t ahead = kAhead / 2;
  for (size_t i = 0; i < rows; ++i) {
    if (i + ahead < rows)
      for (size_t j = 0; j < width; ++j) prefetch_row(table.value, tokens[(i + ahead) * width + j]);
    float* o = out.row(i);
    std::fill(o, o + dim, 0.0f);
    const int32_t* t = tokens.data() + i * width;
    size_t count = 0;
    for (size_t j = 0; j < width; ++j) {
      if (t[j] == 0) continue;
      check_id(table, t[j]);
      const float* e = table.value.row(t[j]);
      for (size_t k = 0; k < dim; ++k) o[k] += e[k];
      ++count;
    }
    if (count > 1 && pooling == Pooling::mean) {
      const float inv = 1.0f / static_cast<float>(count);
      for (size_t k = 0; k < dim; ++k) o[k] *= inv;
    }
  }
}

void pooled_embedding_backward(Parameter& table, std::span<const int32_t> tokens, size_t width, ConstSlice dout,
                               Pooling pooling) {
  const size_t dim = table.value.cols();
  const size_t rows = width ? tokens.size() / width : 0;
  const size_t ahead = kAhead / 2;
  for (size_t i = 0; i < rows; ++i) {
    if (i + ahead < rows)
      for (size_t j = 0; j < width; ++j) prefetch_row(table.grad, tokens[(i + ahead) * width + j]);
    const int32_t* t = tokens.data() + i * width;
    size_t count = 0;
    for (size_t j = 0; j < width; ++j) count += t[j] != 0;
    if (count == 0) continue;
    const float inv = pooling == Pooling::mean ? 1.0f / static_cast<float>(count) : 1.0f;
    const float* d = dout.row(i);
    for (size_t j = 0; j < width; ++j) {
      if (t[j] == 0) continue;
      float* g = table.grad_row(t[j]);
      for (size_t k = 0; k < dim; ++k) g[k] += d[k] * inv;
    }
  }
}

}  // namespace tt
