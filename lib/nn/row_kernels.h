// Vectorised kernels over one row of scores: the inner loops of the in-batch softmax and of
// top-K counting. Each is compiled for AVX-512, AVX2+FMA and baseline x86-64
// (row_kernels_isa.h) and runs at the level base/cpu_isa.h picks, so one binary is fast on this
// machine and still runs on older ones. Reductions use 16 fixed lanes combined in a fixed order,
// so a result never depends on thread scheduling, nor on AVX2 versus AVX-512.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tt {

// Largest value of x[0..n).
float row_max(const float* x, size_t n);
// x[j] = exp(x[j] - shift) for all j; returns the sum of the new values. Arguments below about
// -87.3 give exactly 0 (so masked entries carry no gradient); arguments above 88 are not
// allowed (they are not clamped: the softmax passes the row's maximum as the shift).
float row_exp_sum(float* x, size_t n, float shift);
// The same two passes over x + bias (bias: n per-column values); x receives exp(x + bias - shift).
float row_max_plus(const float* x, const float* bias, size_t n);
float row_exp_sum_plus(float* x, const float* bias, size_t n, float shift);
// x[j] = x[j] / t.
void row_divide(float* x, size_t n, float t);
// x[j] += y[j].
void row_add(float* x, const float* y, size_t n);
// Rows j0..j1 of the sum of `count` matrices given transposed: each parts[p] is rows x stride
// (row-major), and out[j * rows + k] = parts[0][k * stride + j] + parts[1][k * stride + j] + ...
// added left to right, as `count - 1` row_add calls and a transposition would (same bits).
void sum_transposed(const float* const* parts, size_t count, size_t rows, size_t stride, size_t j0, size_t j1,
                    float* out);
// Number of j with x[j] > threshold.
size_t row_count_greater(const float* x, size_t n, float threshold);
// Writes the positions j (ascending) with x[j] > threshold into out (room for n) and returns how
// many; NaN never passes. The top-K scan's filter: most scores fall below the current k-th best.
size_t row_select_greater(const float* x, size_t n, float threshold, uint32_t* out);
// out[i] = the float32 value of bfloat16 in[i] (exact: bf16 is a float32's top half).
void bf16_to_float_n(const uint16_t* in, size_t n, float* out);
// out[r][c] = in[r][c] * scales[r] for rows x cols int8 values (symmetric per-row int8).
void int8_to_float_rows(const int8_t* in, const float* scales, size_t rows, size_t cols, float* out);
// Adagrad (Keras >= 2.11) on rows of a table with `cols` columns: for each row r, rows[i] for i
// in [0, count) (or r = i when rows is null), a += g²; w -= lr · g / sqrt(a + eps) element by
// element (a: the accumulator), then g = 0. The same bits at every level (no fused operation).
// Listed rows are prefetched a few ahead: they are scattered over the table.
void adagrad_rows(float* w, float* g, float* a, size_t cols, const int32_t* rows, size_t count, float lr, float eps);
// exp(x) with the same approximation as row_exp_sum (for tests).
float fast_exp(float x);

}  // namespace tt
