#include <immintrin.h>

#include "index/compact_scan_kernels.h"

// Compiled with -mavx2 -mfma (CMakeLists.txt); reached only through a CPU check.

namespace tt {

namespace {

struct Int8GroupsAvx2 : Int8Groups {
  [[gnu::always_inline]] static v8f widen(const int8_t* p) {
    const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    return reinterpret_cast<v8f>(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b)));
  }
  [[gnu::always_inline]] Pair operator()(size_t g, size_t c) const {
    const int8_t* p = packed + (g * d + c) * kScanGroup;
    return {widen(p), widen(p + 8)};
  }
};

}  // namespace

void scan_int8_avx2(const int8_t* packed, const float* scales, size_t groups, size_t d, const float* q, size_t nq,
                    float* scores, size_t ld) {
  scan_groups(groups, d, q, nq, scores, ld, Int8GroupsAvx2{{packed, scales, d}});
}

}  // namespace tt
