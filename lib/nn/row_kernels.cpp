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
[[gnu::always_inline]] inline v8f load8(const float* p) { v8f v; std::memcpy(&v, p, sizeof v); return v; }
[[gnu::always_inline]] inline void store8(float* p, v8f v) { std::memcpy(p, &v, sizeof v); }

// Cephes expf: exp(x) = 2^n * exp(r), |r| <= ln2/2, with a degree-6 polynomial; about 1 ulp.
// Arguments below kExpMin give exactly 0, so masked entries carry no gradient.
constexpr float kExpMin = -87.3365f;

template <class V>
[[gnu::always_inline]] inline V exp_poly(V x) {
  const V t = x * 1.44269504088896341f;
  const V n = (t + 12582912.0f) - 12582912.0f;  // round to nearest
  V r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const V z = r * r;
  V p = r * 1.9875691500E-4f + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * z + r + 1.0f;
  return p;
}

[[gnu::always_inline]] inline v8f exp8(v8f x) {
  const v8f lo = splat(kExpMin), hi = splat(88.0f);
  const v8i underflow = x < lo;
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  const v8f t = x * 1.44269504088896341f;
  const v8f n = (t + 12582912.0f) - 12582912.0f;
  const v8f p = exp_poly(x);
  const v8i e = (__builtin_convertvector(n, v8i) + 127) << 23;
  v8f scale;
  std::memcpy(&scale, &e, sizeof scale);
  const v8f y = p * scale;
  return underflow ? splat(0.0f) : y;
}

}  // namespace

TT_CLONES float fast_exp(float x) {
  alignas(32) float v[8] = {x, x, x, x, x, x, x, x};
  store8(v, exp8(load8(v)));
  return v[0];
}

TT_CLONES float row_max(const float* x, size_t n) {
  const float ninf = -std::numeric_limits<float>::infinity();
  v8f a = splat(ninf), b = splat(ninf);
  size_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const v8f u = load8(x + j), w = load8(x + j + 8);
    a = u > a ? u : a;
    b = w > b ? w : b;
  }
  a = b > a ? b : a;
  float m = ninf;
  for (int k = 0; k < 8; ++k) m = a[k] > m ? a[k] : m;
  for (; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

TT_CLONES float row_exp_sum(float* x, size_t n, float shift) {
  const v8f sh = splat(shift);
  v8f a = splat(0.0f), b = splat(0.0f);
  size_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const v8f u = exp8(load8(x + j) - sh), w = exp8(load8(x + j + 8) - sh);
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
    for (size_t k = 0; k < 8; ++k) pad[k] = j + k < n ? x[j + k] : -std::numeric_limits<float>::infinity();
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

TT_CLONES void row_scale(float* x, size_t n, float a) {
  for (size_t j = 0; j < n; ++j) x[j] *= a;
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
