// The row kernels' dispatch table: one instance per ISA level (row_kernels_isa.h, compiled by
// row_kernels_{baseline,avx2,avx512}.cpp); nn/row_kernels.cpp calls through the active one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tt {

struct RowKernelTable {
  float (*fast_exp)(float);
  float (*row_max)(const float*, size_t);
  float (*row_max_plus)(const float*, const float*, size_t);
  float (*row_exp_sum)(float*, size_t, float);
  float (*row_exp_sum_plus)(float*, const float*, size_t, float);
  void (*row_divide)(float*, size_t, float);
  void (*row_add)(float*, const float*, size_t);
  void (*sum_transposed)(const float* const*, size_t, size_t, size_t, size_t, size_t, float*);
  size_t (*row_count_greater)(const float*, size_t, float);
  size_t (*row_select_greater)(const float*, size_t, float, uint32_t*);
  void (*bf16_to_float_n)(const uint16_t*, size_t, float*);
  void (*int8_to_float_rows)(const int8_t*, const float*, size_t, size_t, float*);
  void (*adagrad_rows)(float*, float*, float*, size_t, const int32_t*, size_t, float, float);
};

namespace isa_baseline {
extern const RowKernelTable row_kernel_table;
}
namespace isa_avx2 {
extern const RowKernelTable row_kernel_table;
}
namespace isa_avx512 {
extern const RowKernelTable row_kernel_table;
}

}  // namespace tt
