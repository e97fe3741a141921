#include "index/compact_scan.h"

#include <cstring>

#include "base/target_clones.h"
#include "index/compact_scan_kernels.h"

// Compiled with -fno-trapping-math and -Wno-psabi like lib/nn/row_kernels.cpp (CMakeLists.txt).

namespace tt {

namespace {

// lane_of(k): where candidate k of a group goes within an element's 16 slots.
template <class T, class Lane>
void pack_groups(const T* rows, size_t n, size_t d, T* out, Lane lane_of) {
  const size_t groups = (n + kScanGroup - 1) / kScanGroup;
  std::memset(out, 0, groups * kScanGroup * d * sizeof(T));
  for (size_t j = 0; j < n; ++j)
    for (size_t c = 0; c < d; ++c)
      out[(j / kScanGroup * d + c) * kScanGroup + lane_of(j % kScanGroup)] = rows[j * d + c];
}

// GCC's vector extensions turn the 8 x int8 -> int32 widening into scalar inserts; AVX2 has one
// instruction for it, so the int8 kernels have an AVX2 build (compact_scan_avx2.cpp).
bool have_avx2() {
#if TT_HAVE_AVX2_UNIT
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

}  // namespace

void pack_groups_u16(const uint16_t* rows, size_t n, size_t d, uint16_t* out) {
  // Candidate k < 8 is the low half of 32-bit word k, candidate k >= 8 the high half of word k - 8.
  pack_groups(rows, n, d, out, [](size_t k) { return k < 8 ? 2 * k : 2 * (k - 8) + 1; });
}
void pack_groups_i8(const int8_t* rows, size_t n, size_t d, int8_t* out) {
  pack_groups(rows, n, d, out, [](size_t k) { return k; });
}

TT_CLONES void scan_bf16(const uint16_t* packed, size_t groups, size_t d, const float* q, size_t nq, float* scores,
                         size_t ld) {
  scan_groups(groups, d, q, nq, scores, ld, Bf16Groups{packed, d});
}

void scan_int8(const int8_t* packed, const float* scales, size_t groups, size_t d, const float* q, size_t nq,
               float* scores, size_t ld) {
#if TT_HAVE_AVX2_UNIT
  if (have_avx2()) return scan_int8_avx2(packed, scales, groups, d, q, nq, scores, ld);
#endif
  scan_groups(groups, d, q, nq, scores, ld, Int8Groups{packed, scales, d});
}

}  // namespace tt
