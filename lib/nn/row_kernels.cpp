#include "nn/row_kernels.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "base/target_clones.h"

// Compiled with -fno-trapping-math (see CMakeLists.txt) so GCC if-converts the clamps and
// vectorises the loops. Clones may use FMA, so results can differ in the last bit between
// machines of different ISA levels, as oneDNN's own GEMM kernels do; on one machine they are
// deterministic.

namespace tt {

namespace {
constexpr size_t kLanes = 16;

// Eight floats at a time with GCC's vector extensions: each target clone maps them onto its
// widest registers (two SSE registers on the baseline clone). The helpers must always be
// inlined: an out-of-line call between code built for different ISAs passes 32-byte vectors
// under different ABIs (GCC's -Wpsabi note), which silently corrupts them.
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

[[gnu::always_inline]] inline v8f splat(float x) { return v8f{x, x, x, x, x, x, x, x}; }
[[gnu::always_inline]] inline v8f load8(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void store8(float* p, v8f v) { std::memcpy(p, &v, sizeof v); }

// Cephes expf: exp(x) = 2^n * exp(r), |r| <= ln2/2, with Cephes's degree-6 polynomial; about
// 1 ulp. The polynomial is evaluated in Estrin's scheme (a shorter dependency chain than
// Horner's, so more elements are in flight), and 2^n comes from the integer bits of the
// rounding step itself. Arguments below kExpMin give exactly 0, so masked entries carry no
// gradient.
constexpr float kExpMin = -87.3365f;

[[gnu::always_inline]] inline v8f exp8(v8f x) {
  const v8i underflow = x < splat(kExpMin);
  x = x < splat(kExpMin) ? splat(kExpMin) : x;  // written so that NaN passes through
  x = x > splat(88.0f) ? splat(88.0f) : x;
  // t's low mantissa bits hold n = round(x / ln2): 1.5 * 2^23 puts the binary point there.
  const v8f t = x * 1.44269504088896341f + 12582912.0f;
  const v8f n = t - 12582912.0f;
  v8f r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const v8f r2 = r * r;
  const v8f a = r * 1.6666665459E-1f + 5.0000001201E-1f;
  const v8f b = r * 8.3334519073E-3f + 4.1665795894E-2f;
  const v8f c = r * 1.9875691500E-4f + 1.3981999507E-3f;
  const v8f p = (a + r2 * b) + (r2 * r2) * c;
  const v8f y = (p * r2 + r) + 1.0f;
  v8i bits;
  std::memcpy(&bits, &t, sizeof bits);
  const v8i e = (bits + 127) << 23;  // n + 127 in the exponent field (t's high bits shift out)
  v8f scale;
  std::memcpy(&scale, &e, sizeof scale);
  return underflow ? splat(0.0f) : y * scale;
}

}  // namespace

TT_CLONES float fast_exp(float x) {
  alignas(32) float v[8] = {x, x, x, x, x, x, x, x};
  store8(v, exp8(load8(v)));
  return v[0];
}

namespace {

// The row passes of the softmax, optionally adding a per-column bias on the fly (so the row
// itself need not be rewritten first).
template <bool kBias>
[[gnu::always_inline]] inline v8f load_plus(const float* x, const float* bias, size_t j) {
  if constexpr (kBias)
    return load8(x + j) + load8(bias + j);
  else
    return load8(x + j);
}

template <bool kBias>
[[gnu::always_inline]] inline float max_pass(const float* x, const float* bias, size_t n) {
  const float ninf = -std::numeric_limits<float>::infinity();
  v8f a = splat(ninf), b = splat(ninf);
  size_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const v8f u = load_plus<kBias>(x, bias, j), w = load_plus<kBias>(x, bias, j + 8);
    a = u > a ? u : a;
    b = w > b ? w : b;
  }
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
  // Four vectors per iteration, so independent exponentials overlap in the pipeline.
  for (; j + 32 <= n; j += 32) {
    const v8f u0 = exp8(load_plus<kBias>(x, bias, j) - sh), w0 = exp8(load_plus<kBias>(x, bias, j + 8) - sh);
    const v8f u1 = exp8(load_plus<kBias>(x, bias, j + 16) - sh), w1 = exp8(load_plus<kBias>(x, bias, j + 24) - sh);
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
    const v8f u = exp8(load_plus<kBias>(x, bias, j) - sh), w = exp8(load_plus<kBias>(x, bias, j + 8) - sh);
    store8(x + j, u);
    store8(x + j + 8, w);
    a += u;
    b += w;
  }
  // The tail goes through the same vector code (padded with -inf, whose exp is 0), so every
  // element is computed identically wherever it sits in the row.
  float tail = 0.0f;
  for (; j < n; j += 8) {
    float pad[8];
    for (size_t k = 0; k < 8; ++k)
      pad[k] = j + k < n ? (kBias ? x[j + k] + bias[j + k] : x[j + k]) : -std::numeric_limits<float>::infinity();
    store8(pad, exp8(load8(pad) - sh));
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

}  // namespace

TT_CLONES float row_max(const float* x, size_t n) { return max_pass<false>(x, nullptr, n); }

TT_CLONES float row_max_plus(const float* x, const float* bias, size_t n) { return max_pass<true>(x, bias, n); }

TT_CLONES float row_exp_sum(float* x, size_t n, float shift) { return exp_sum_pass<false>(x, nullptr, n, shift); }

TT_CLONES float row_exp_sum_plus(float* x, const float* bias, size_t n, float shift) {
  return exp_sum_pass<true>(x, bias, n, shift);
}

TT_CLONES void row_divide(float* x, size_t n, float t) {
  for (size_t j = 0; j < n; ++j) x[j] /= t;
}

TT_CLONES void row_add(float* x, const float* y, size_t n) {
  for (size_t j = 0; j < n; ++j) x[j] += y[j];
}

TT_CLONES size_t row_count_greater(const float* x, size_t n, float threshold) {
  uint32_t lanes[kLanes] = {};
  size_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (size_t k = 0; k < kLanes; ++k) lanes[k] += x[j + k] > threshold ? 1u : 0u;
  size_t count = 0;
  for (size_t k = 0; k < kLanes; ++k) count += lanes[k];
  for (; j < n; ++j) count += x[j] > threshold;
  return count;
}

TT_CLONES size_t row_select_greater(const float* x, size_t n, float threshold, uint32_t* out) {
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

TT_CLONES void bf16_to_float_n(const uint16_t* in, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t bits = static_cast<uint32_t>(in[i]) << 16;
    std::memcpy(out + i, &bits, 4);
  }
}

TT_CLONES void int8_to_float_rows(const int8_t* in, const float* scales, size_t rows, size_t cols, float* out) {
  for (size_t r = 0; r < rows; ++r) {
    const float s = scales[r];
    for (size_t c = 0; c < cols; ++c) out[r * cols + c] = static_cast<float>(in[r * cols + c]) * s;
  }
}

}  // namespace tt
