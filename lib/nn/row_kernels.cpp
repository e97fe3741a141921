#include "nn/row_kernels.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

// FMA contraction would make the AVX2/AVX-512 clones round differently from the baseline one;
// keeping it off makes a model bit-identical whichever clone the machine picks.
// Compiled with -ffp-contract=off -fno-trapping-math (see CMakeLists.txt): the first keeps the
// clones bit-identical, the second lets GCC if-convert the clamps so the loops vectorise.

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define TT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TT_CLONES
#endif

namespace tt {

namespace {
constexpr size_t kLanes = 16;

// Cephes expf: exp(x) = 2^n * exp(r), |r| <= ln2/2, with a degree-6 polynomial; about 1 ulp.
inline float exp_approx(float x) {
  const float lo = -87.3365f;
  const bool underflow = x < lo;
  x = x < lo ? lo : x;
  x = x > 88.0f ? 88.0f : x;
  const float t = x * 1.44269504088896341f;
  const float n = (t + 12582912.0f) - 12582912.0f;  // round to nearest
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float z = r * r;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * z + r + 1.0f;
  const int32_t e = (static_cast<int32_t>(n) + 127) << 23;
  const float scale = std::bit_cast<float>(e);
  const float y = p * scale;
  return underflow ? 0.0f : y;
}
}  // namespace

float fast_exp(float x) { return exp_approx(x); }

TT_CLONES float row_max(const float* x, size_t n) {
  float lanes[kLanes];
  const float ninf = -std::numeric_limits<float>::infinity();
  for (size_t k = 0; k < kLanes; ++k) lanes[k] = ninf;
  size_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (size_t k = 0; k < kLanes; ++k) lanes[k] = x[j + k] > lanes[k] ? x[j + k] : lanes[k];
  float m = ninf;
  for (size_t k = 0; k < kLanes; ++k) m = lanes[k] > m ? lanes[k] : m;
  for (; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

TT_CLONES float row_exp_sum(float* x, size_t n, float shift) {
  // Two simple loops (a map, then a 16-lane sum) vectorise where one fused loop does not.
  for (size_t j = 0; j < n; ++j) x[j] = exp_approx(x[j] - shift);
  float lanes[kLanes] = {};
  size_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (size_t k = 0; k < kLanes; ++k) lanes[k] += x[j + k];
  float tail = 0.0f;
  for (; j < n; ++j) tail += x[j];
  // Pairwise combination of the lanes, in a fixed order.
  for (size_t width = kLanes / 2; width > 0; width /= 2)
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

}  // namespace tt
