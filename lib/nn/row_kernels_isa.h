// The row kernels' code, compiled once per ISA level: row_kernels_{baseline,avx2,avx512}.cpp
// define TT_ISA_NS and include this file, and CMakeLists.txt gives each its -march. Everything
// here has internal linkage or lives in namespace tt::TT_ISA_NS, and only builtins are used
// from other headers: an inline function or template shared with other translation units could
// be emitted here with this level's instructions and then picked by the linker for a caller
// running at a lower level.
//
// Compiled with -fno-trapping-math so GCC if-converts the clamps and vectorises the loops. The
// AVX2 and AVX-512 builds contract a * b + c into FMA the same way, so they compute the same
// bits; the baseline build has no FMA, so the exponentials (and sums of products) may differ
// from them in the last bit (tests/unit/test_nn_kernels.cpp checks both statements).
#ifndef TT_ISA_NS
#error "define TT_ISA_NS (the namespace of this ISA level's build) before including row_kernels_isa.h"
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "base/intrinsics_isa.h"  // vector square roots (GCC's vector extensions have none)
#include "base/vec_isa.h"
#include "nn/row_kernels_table.h"

namespace tt::TT_ISA_NS {

namespace {
constexpr size_t kLanes = 16;

// Cephes expf: exp(x) = 2^n * exp(r), |r| <= ln2/2, with Cephes's degree-6 polynomial; about
// 1 ulp. The polynomial is evaluated in Estrin's scheme (a shorter dependency chain than
// Horner's, so more elements are in flight), and 2^n comes from the integer bits of the
// rounding step itself. Arguments below kExpMin give exactly 0, so masked entries carry no
// gradient.
constexpr float kExpMin = -87.3365f;

// V: a vector of floats (8 everywhere, also 16 in the AVX-512 build), VI: as many int32. Each
// lane goes through the same operations at any width, so a lane's bits do not depend on it.
// Lanes below kExpMin are set to 0 at the end whatever the steps in between made of them, so
// they need no clamp. kClampHigh: clamp arguments above 88 (else they give garbage); the
// softmax passes leave it off, their arguments being x - max(x) <= 0, and so save two vector
// operations per element without changing any result.
template <class V, class VI, bool kClampHigh = true>
[[gnu::always_inline]] inline V expv(V x) {
  const V lo = V{} + kExpMin;
  const VI underflow = x < lo;
  if constexpr (kClampHigh) {
    const V hi = V{} + 88.0f;
    x = x > hi ? hi : x;  // written so that NaN passes through
  }
  // t's low mantissa bits hold n = round(x / ln2): 1.5 * 2^23 puts the binary point there.
  const V t = x * 1.44269504088896341f + 12582912.0f;
  const V n = t - 12582912.0f;
  V r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const V r2 = r * r;
  const V a = r * 1.6666665459E-1f + 5.0000001201E-1f;
  const V b = r * 8.3334519073E-3f + 4.1665795894E-2f;
  const V c = r * 1.9875691500E-4f + 1.3981999507E-3f;
  const V p = (a + r2 * b) + (r2 * r2) * c;
  const V y = (p * r2 + r) + 1.0f;
  VI bits;
  std::memcpy(&bits, &t, sizeof bits);
  const VI e = (bits + 127) << 23;  // n + 127 in the exponent field (t's high bits shift out)
  V scale;
  std::memcpy(&scale, &e, sizeof scale);
  return underflow ? V{} : y * scale;
}

[[gnu::always_inline]] inline v8f exp8(v8f x) { return expv<v8f, v8i>(x); }
// For arguments <= 88 only (x - max in the softmax).
[[gnu::always_inline]] inline v8f exp8_le88(v8f x) { return expv<v8f, v8i, false>(x); }

float fast_exp(float x) {
  alignas(32) float v[8] = {x, x, x, x, x, x, x, x};
  store8(v, exp8(load8(v)));
  return v[0];
}

// Loads and stores of any vector type V (8 floats, or 16 in the AVX-512 build).
template <class V>
[[gnu::always_inline]] inline V loadv(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class V>
[[gnu::always_inline]] inline void storev(float* p, V v) {
  std::memcpy(p, &v, sizeof v);
}

// The row passes of the softmax, optionally adding a per-column bias on the fly (so the row
// itself need not be rewritten first).
template <bool kBias, class V = v8f>
[[gnu::always_inline]] inline V load_plus(const float* x, const float* bias, size_t j) {
  if constexpr (kBias)
    return loadv<V>(x + j) + loadv<V>(bias + j);
  else
    return loadv<V>(x + j);
}

#if defined(__AVX512F__)
typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
[[gnu::always_inline]] inline v16f exp16_le88(v16f x) { return expv<v16f, v16i, false>(x); }
#endif

template <bool kBias>
[[gnu::always_inline]] inline float max_pass(const float* x, const float* bias, size_t n) {
  const float ninf = -__builtin_inff();
  v8f a = splat(ninf), b = splat(ninf);
  size_t j = 0;
#if defined(__AVX512F__)
  // 16-float registers: lanes 0-7 hold what the 8-float code below keeps in a, lanes 8-15 what
  // it keeps in b, in two registers (so that two compares are in flight). The maximum is the same
  // value; only the sign of a zero maximum could differ, which neither exp(x - max) nor
  // max + log(sum) can see.
  const v16f lo = v16f{} + ninf;
  v16f acc = lo, acc2 = lo;
  for (; j + 32 <= n; j += 32) {
    const v16f u = load_plus<kBias, v16f>(x, bias, j), w = load_plus<kBias, v16f>(x, bias, j + 16);
    acc = u > acc ? u : acc;
    acc2 = w > acc2 ? w : acc2;
  }
  acc = acc2 > acc ? acc2 : acc;
  for (; j + 16 <= n; j += 16) {
    const v16f u = load_plus<kBias, v16f>(x, bias, j);
    acc = u > acc ? u : acc;
  }
  a = __builtin_shufflevector(acc, acc, 0, 1, 2, 3, 4, 5, 6, 7);
  b = __builtin_shufflevector(acc, acc, 8, 9, 10, 11, 12, 13, 14, 15);
#else
  for (; j + 16 <= n; j += 16) {
    const v8f u = load_plus<kBias>(x, bias, j), w = load_plus<kBias>(x, bias, j + 8);
    a = u > a ? u : a;
    b = w > b ? w : b;
  }
#endif
  a = b > a ? b : a;
  float m = ninf;
  for (int k = 0; k < 8; ++k) m = a[k] > m ? a[k] : m;
  for (; j < n; ++j) {
    const float v = kBias ? x[j] + bias[j] : x[j];
    m = v > m ? v : m;
  }
  return m;
}

template <bool kBias>
[[gnu::always_inline]] inline float exp_sum_pass(float* x, const float* bias, size_t n, float shift) {
  const v8f sh = splat(shift);
  v8f a = splat(0.0f), b = splat(0.0f);
  size_t j = 0;
#if defined(__AVX512F__)
  // 16 floats per register: `acc` holds what the 8-float code below keeps in a (lanes 0-7) and
  // b (lanes 8-15), and receives the same values in the same order, so the sum has the same bits.
  v16f acc = {};
  for (; j + 32 <= n; j += 32) {
    const v16f u = exp16_le88(load_plus<kBias, v16f>(x, bias, j) - shift);
    const v16f w = exp16_le88(load_plus<kBias, v16f>(x, bias, j + 16) - shift);
    storev(x + j, u);
    storev(x + j + 16, w);
    acc += u;
    acc += w;
  }
  for (; j + 16 <= n; j += 16) {
    const v16f u = exp16_le88(load_plus<kBias, v16f>(x, bias, j) - shift);
    storev(x + j, u);
    acc += u;
  }
  a = __builtin_shufflevector(acc, acc, 0, 1, 2, 3, 4, 5, 6, 7);
  b = __builtin_shufflevector(acc, acc, 8, 9, 10, 11, 12, 13, 14, 15);
#else
  // Four vectors per iteration, so independent exponentials overlap in the pipeline.
  for (; j + 32 <= n; j += 32) {
    const v8f u0 = exp8_le88(load_plus<kBias>(x, bias, j) - sh), w0 = exp8_le88(load_plus<kBias>(x, bias, j + 8) - sh);
    const v8f u1 = exp8_le88(load_plus<kBias>(x, bias, j + 16) - sh),
              w1 = exp8_le88(load_plus<kBias>(x, bias, j + 24) - sh);
    store8(x + j, u0);
    store8(x + j + 8, w0);
    store8(x + j + 16, u1);
    store8(x + j + 24, w1);
    a += u0;
    b += w0;
    a += u1;
    b += w1;
  }
  for (; j + 16 <= n; j += 16) {
    const v8f u = exp8_le88(load_plus<kBias>(x, bias, j) - sh), w = exp8_le88(load_plus<kBias>(x, bias, j + 8) - sh);
    store8(x + j, u);
    store8(x + j + 8, w);
    a += u;
    b += w;
  }
#endif
  // The tail goes through the same vector code (padded with -inf, whose exp is 0), so every
  // element is computed identically wherever it sits in the row.
  float tail = 0.0f;
  for (; j < n; j += 8) {
    float pad[8];
    for (size_t k = 0; k < 8; ++k) pad[k] = j + k < n ? (kBias ? x[j + k] + bias[j + k] : x[j + k]) : -__builtin_inff();
    store8(pad, exp8_le88(load8(pad) - sh));
    for (size_t k = 0; k < 8 && j + k < n; ++k) {
      x[j + k] = pad[k];
      tail += pad[k];
    }
  }
  // The 16 lanes combined pairwise, in a fixed order.
  a += b;
  float lanes[8];
  store8(lanes, a);
  for (size_t width = 4; width > 0; width /= 2)
    for (size_t k = 0; k < width; ++k) lanes[k] += lanes[k + width];
  return lanes[0] + tail;
}

float row_max(const float* x, size_t n) { return max_pass<false>(x, nullptr, n); }

float row_max_plus(const float* x, const float* bias, size_t n) { return max_pass<true>(x, bias, n); }

float row_exp_sum(float* x, size_t n, float shift) { return exp_sum_pass<false>(x, nullptr, n, shift); }

float row_exp_sum_plus(float* x, const float* bias, size_t n, float shift) {
  return exp_sum_pass<true>(x, bias, n, shift);
}

void row_divide(float* x, size_t n, float t) {
  for (size_t j = 0; j < n; ++j) x[j] /= t;
}

void row_add(float* x, const float* y, size_t n) {
  for (size_t j = 0; j < n; ++j) x[j] += y[j];
}

// In tiles of 16 x 16: a tile's sums are formed a row of 16 columns at a time (all parts, in
// part order, in registers), then written out transposed while the tile is in L1.
void sum_transposed(const float* const* parts, size_t count, size_t rows, size_t stride, size_t j0, size_t j1,
                    float* out) {
  constexpr size_t kTile = 16;
  typedef float V16 __attribute__((vector_size(64)));  // one AVX-512 register, two AVX2, four SSE
  alignas(64) float tile[kTile][kTile];
  for (size_t j = j0; j < j1; j += kTile) {
    const size_t jn = j1 - j < kTile ? j1 - j : kTile;
    for (size_t k0 = 0; k0 < rows; k0 += kTile) {
      const size_t kn = rows - k0 < kTile ? rows - k0 : kTile;
      for (size_t kk = 0; kk < kn; ++kk) {
        const size_t at = (k0 + kk) * stride + j;
        float* t = tile[kk];
        if (jn == kTile) {
          V16 acc = loadv<V16>(parts[0] + at);
          for (size_t p = 1; p < count; ++p) acc = acc + loadv<V16>(parts[p] + at);
          storev(t, acc);
        } else {
          for (size_t jj = 0; jj < jn; ++jj) t[jj] = parts[0][at + jj];
          for (size_t p = 1; p < count; ++p)
            for (size_t jj = 0; jj < jn; ++jj) t[jj] += parts[p][at + jj];
        }
      }
      for (size_t jj = 0; jj < jn; ++jj) {
        float* o = out + (j + jj) * rows + k0;
        for (size_t kk = 0; kk < kn; ++kk) o[kk] = tile[kk][jj];
      }
    }
  }
}

size_t row_count_greater(const float* x, size_t n, float threshold) {
  uint32_t lanes[kLanes] = {};
  size_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (size_t k = 0; k < kLanes; ++k) lanes[k] += x[j + k] > threshold ? 1u : 0u;
  size_t count = 0;
  for (size_t k = 0; k < kLanes; ++k) count += lanes[k];
  for (; j < n; ++j) count += x[j] > threshold;
  return count;
}

size_t row_select_greater(const float* x, size_t n, float threshold, uint32_t* out) {
  const v8f t = splat(threshold);
  size_t m = 0, j = 0;
  for (; j + 16 <= n; j += 16) {
    // One vector test per 16 scores; the rare block with a hit is walked in scalar code.
    const v8i hit = (load8(x + j) > t) | (load8(x + j + 8) > t);
    bool any = false;
    for (int k = 0; k < 8; ++k) any |= hit[k] != 0;
    if (!any) continue;
    for (size_t k = 0; k < 16; ++k)
      if (x[j + k] > threshold) out[m++] = static_cast<uint32_t>(j + k);
  }
  for (; j < n; ++j)
    if (x[j] > threshold) out[m++] = static_cast<uint32_t>(j);
  return m;
}

void bf16_to_float_n(const uint16_t* in, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t bits = static_cast<uint32_t>(in[i]) << 16;
    std::memcpy(out + i, &bits, 4);
  }
}

void int8_to_float_rows(const int8_t* in, const float* scales, size_t rows, size_t cols, float* out) {
  for (size_t r = 0; r < rows; ++r) {
    const float s = scales[r];
    for (size_t c = 0; c < cols; ++c) out[r * cols + c] = static_cast<float>(in[r * cols + c]) * s;
  }
}

// x, computed apart: a product passed through here is never contracted with a following
// addition into an FMA, so the AVX2 and AVX-512 builds round it like the baseline build.
template <class V>
[[gnu::always_inline]] inline V unfused(V x) {
#if defined(__FMA__)
  asm("" : "+v"(x));
#endif
  return x;
}

// One element of Adagrad (Keras >= 2.11): a += g²; w -= lr · g / sqrt(a + eps). Every operation
// is correctly rounded and none is fused, so each level gives the baseline's bits.
template <class V, class Sqrt>
[[gnu::always_inline]] inline void adagrad_step(float* w, float* g, float* a, V lr, V eps, Sqrt sqrt) {
  const V gv = loadv<V>(g);
  const V av = loadv<V>(a) + unfused(gv * gv);
  storev(a, av);
  storev(w, loadv<V>(w) - lr * gv / sqrt(av + eps));
  storev(g, V{});
}

// How many rows ahead adagrad_rows prefetches: an embedding table's rows are scattered over a
// few MiB, and a row's three arrays would otherwise be fetched one miss after another.
constexpr size_t kPrefetchRows = 8;

void prefetch_row(const float* p, size_t cols) {
  __builtin_prefetch(p, 1);
  __builtin_prefetch(p + cols - 1, 1);
}

void adagrad_rows(float* w, float* g, float* a, size_t cols, const int32_t* rows, size_t count, float lr, float eps) {
  for (size_t i = 0; i < count; ++i) {
    const size_t r = rows ? static_cast<size_t>(rows[i]) : i;
    if (rows && i + kPrefetchRows < count) {
      const size_t ahead = static_cast<size_t>(rows[i + kPrefetchRows]) * cols;
      prefetch_row(w + ahead, cols);
      prefetch_row(g + ahead, cols);
      prefetch_row(a + ahead, cols);
    }
    float *wr = w + r * cols, *gr = g + r * cols, *ar = a + r * cols;
    size_t k = 0;
#if defined(__AVX512F__)
    for (; k + 16 <= cols; k += 16)
      adagrad_step<v16f>(wr + k, gr + k, ar + k, v16f{} + lr, v16f{} + eps,
                         [](v16f v) { return reinterpret_cast<v16f>(_mm512_sqrt_ps(reinterpret_cast<__m512>(v))); });
#endif
#if defined(__AVX2__)
    for (; k + 8 <= cols; k += 8)
      adagrad_step<v8f>(wr + k, gr + k, ar + k, splat(lr), splat(eps),
                        [](v8f v) { return reinterpret_cast<v8f>(_mm256_sqrt_ps(reinterpret_cast<__m256>(v))); });
#endif
    for (; k < cols; ++k)
      adagrad_step<float>(wr + k, gr + k, ar + k, lr, eps, [](float v) { return __builtin_sqrtf(v); });
  }
}

}  // namespace

const RowKernelTable row_kernel_table = {
    .fast_exp = fast_exp,
    .row_max = row_max,
    .row_max_plus = row_max_plus,
    .row_exp_sum = row_exp_sum,
    .row_exp_sum_plus = row_exp_sum_plus,
    .row_divide = row_divide,
    .row_add = row_add,
    .sum_transposed = sum_transposed,
    .row_count_greater = row_count_greater,
    .row_select_greater = row_select_greater,
    .bf16_to_float_n = bf16_to_float_n,
    .int8_to_float_rows = int8_to_float_rows,
    .adagrad_rows = adagrad_rows,
};

}  // namespace tt::TT_ISA_NS
