#include "nn/row_kernels.h"

#include "base/cpu_isa.h"
#include "nn/row_kernels_table.h"

// Every kernel is built once per ISA level (row_kernels_isa.h); each call goes through the
// table of the level active at that moment (base/cpu_isa.h).

namespace tt {

namespace {
const RowKernelTable& table() {
  return isa_pick(isa_baseline::row_kernel_table, isa_avx2::row_kernel_table, isa_avx512::row_kernel_table);
}
}  // namespace

float fast_exp(float x) { return table().fast_exp(x); }
float row_max(const float* x, size_t n) { return table().row_max(x, n); }
float row_max_plus(const float* x, const float* bias, size_t n) { return table().row_max_plus(x, bias, n); }
float row_exp_sum(float* x, size_t n, float shift) { return table().row_exp_sum(x, n, shift); }
float row_exp_sum_plus(float* x, const float* bias, size_t n, float shift) {
  return table().row_exp_sum_plus(x, bias, n, shift);
}
void row_divide(float* x, size_t n, float t) { table().row_divide(x, n, t); }
void row_add(float* x, const float* y, size_t n) { table().row_add(x, y, n); }
void sum_transposed(const float* const* parts, size_t count, size_t rows, size_t stride, size_t j0, size_t j1,
                    float* out) {
  table().sum_transposed(parts, count, rows, stride, j0, j1, out);
}
size_t row_count_greater(const float* x, size_t n, float threshold) {
  return table().row_count_greater(x, n, threshold);
}
size_t row_select_greater(const float* x, size_t n, float threshold, uint32_t* out) {
  return table().row_select_greater(x, n, threshold, out);
}
void bf16_to_float_n(const uint16_t* in, size_t n, float* out) { table().bf16_to_float_n(in, n, out); }
void int8_to_float_rows(const int8_t* in, const float* scales, size_t rows, size_t cols, float* out) {
  table().int8_to_float_rows(in, scales, rows, cols, out);
}
void adagrad_rows(float* w, float* g, float* a, size_t cols, const int32_t* rows, size_t count, float lr, float eps) {
  table().adagrad_rows(w, g, a, cols, rows, count, lr, eps);
}

}  // namespace tt
