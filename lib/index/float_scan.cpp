#include "index/float_scan.h"

#include <cstring>

#include "base/target_clones.h"

// Compiled with -fno-trapping-math and -Wno-psabi like the compact scans (CMakeLists.txt).

namespace tt {

namespace {

typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

[[gnu::always_inline]] inline v8f load8(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The sums of the lanes of a, b, c and d, as one vector.
[[gnu::always_inline]] inline v4f reduce4(v8f a, v8f b, v8f c, v8f d) {
  const v8f x = __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11) +
                __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
  const v8f y = __builtin_shufflevector(c, d, 0, 8, 1, 9, 2, 10, 3, 11) +
                __builtin_shufflevector(c, d, 4, 12, 5, 13, 6, 14, 7, 15);
  const v8f z = __builtin_shufflevector(x, y, 0, 1, 8, 9, 2, 3, 10, 11) +
                __builtin_shufflevector(x, y, 4, 5, 12, 13, 6, 7, 14, 15);
  return __builtin_shufflevector(z, z, 0, 1, 2, 3) + __builtin_shufflevector(z, z, 4, 5, 6, 7);
}

// Q queries against 4 candidates at a time: 4 Q accumulator chains hide the FMA latency.
template <size_t Q>
[[gnu::always_inline]] inline void scan_rows(const float* c, size_t n, size_t d, const float* q, float* scores,
                                             size_t ld) {
  constexpr size_t kAheadBytes = 8192;  // software prefetch distance, as the compact scans
  const size_t row_bytes = d * sizeof(float), ahead = kAheadBytes / row_bytes + 4;
  const size_t d8 = d / 8 * 8;
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float* r = c + j * d;
    if (j + ahead + 4 <= n)
      for (size_t off = 0; off < 4 * row_bytes; off += 64)
        __builtin_prefetch(reinterpret_cast<const char*>(r + ahead * d) + off);
    v8f acc[Q][4] = {};
    for (size_t e = 0; e < d8; e += 8) {
      const v8f x0 = load8(r + e), x1 = load8(r + d + e), x2 = load8(r + 2 * d + e), x3 = load8(r + 3 * d + e);
      for (size_t k = 0; k < Q; ++k) {
        const v8f w = load8(q + k * d + e);
        acc[k][0] += x0 * w;
        acc[k][1] += x1 * w;
        acc[k][2] += x2 * w;
        acc[k][3] += x3 * w;
      }
    }
    for (size_t k = 0; k < Q; ++k) {
      v4f s = reduce4(acc[k][0], acc[k][1], acc[k][2], acc[k][3]);
      for (size_t e = d8; e < d; ++e) {
        const float w = q[k * d + e];
        s += v4f{r[e] * w, r[d + e] * w, r[2 * d + e] * w, r[3 * d + e] * w};
      }
      std::memcpy(scores + k * ld + j, &s, sizeof s);
    }
  }
  for (; j < n; ++j) {
    const float* r = c + j * d;
    for (size_t k = 0; k < Q; ++k) {
      v8f acc = {};
      for (size_t e = 0; e < d8; e += 8) acc += load8(r + e) * load8(q + k * d + e);
      v4f s = reduce4(acc, v8f{}, v8f{}, v8f{});
      float t = s[0];
      for (size_t e = d8; e < d; ++e) t += r[e] * q[k * d + e];
      scores[k * ld + j] = t;
    }
  }
}

}  // namespace

TT_CLONES void scan_float_rows(const float* c, size_t n, size_t d, const float* q, size_t nq, float* scores,
                               size_t ld) {
  switch (nq) {
    case 1:
      return scan_rows<1>(c, n, d, q, scores, ld);
    case 2:
      return scan_rows<2>(c, n, d, q, scores, ld);
    case 3:
      return scan_rows<3>(c, n, d, q, scores, ld);
    default:
      for (size_t r0 = 0; r0 < nq; r0 += 4) {
        const size_t m = nq - r0 < 4 ? nq - r0 : 4;
        if (m == 4)
          scan_rows<4>(c, n, d, q + r0 * d, scores + r0 * ld, ld);
        else
          scan_float_rows(c, n, d, q + r0 * d, m, scores + r0 * ld, ld);
      }
  }
}

}  // namespace tt
