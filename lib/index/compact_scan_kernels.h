// The compact scans' inner loops, shared by compact_scan.cpp (per-ISA clones) and
// compact_scan_avx2.cpp (compiled for AVX2: int8 widening needs its intrinsics). Everything
// here has internal linkage, so each translation unit keeps its own ISA's copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "index/compact_scan.h"

namespace tt {
namespace {

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef uint32_t v8u __attribute__((vector_size(32)));
typedef int8_t v8b __attribute__((vector_size(8)));

[[gnu::always_inline]] inline v8f splat(float x) { return v8f{x, x, x, x, x, x, x, x}; }
[[gnu::always_inline]] inline v8f load8(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void store8(float* p, v8f v) { std::memcpy(p, &v, sizeof v); }
[[gnu::always_inline]] inline v8f as_float(v8u bits) {
  v8f f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// One element of a group's 16 candidates, as float32: lo holds candidates 0-7, hi 8-15.
struct Pair {
  v8f lo, hi;
};

// bf16 groups store word k of an element as candidate k (low half) and candidate k + 8 (high
// half), so two float32 vectors come out of one load with a shift and a mask: a bf16 value is
// the top half of a float32.
struct Bf16Groups {
  const uint16_t* packed;
  size_t d;
  [[gnu::always_inline]] Pair operator()(size_t g, size_t c) const {
    v8u w;
    std::memcpy(&w, packed + (g * d + c) * kScanGroup, sizeof w);
    return {as_float(w << 16), as_float(w & 0xffff0000u)};
  }
  [[gnu::always_inline]] Pair scale(size_t) const { return {splat(1.0f), splat(1.0f)}; }
  const char* group(size_t g) const { return reinterpret_cast<const char*>(packed + g * d * kScanGroup); }
  size_t group_bytes() const { return d * kScanGroup * sizeof(uint16_t); }
};

// int8 groups store an element's 16 candidates in order; scores are scaled per candidate.
struct Int8Groups {
  const int8_t* packed;
  const float* scales;
  size_t d;
  [[gnu::always_inline]] static v8f widen(const int8_t* p) {
    v8b b;
    std::memcpy(&b, p, sizeof b);
    return __builtin_convertvector(__builtin_convertvector(b, v8i), v8f);
  }
  [[gnu::always_inline]] Pair operator()(size_t g, size_t c) const {
    const int8_t* p = packed + (g * d + c) * kScanGroup;
    return {widen(p), widen(p + 8)};
  }
  [[gnu::always_inline]] Pair scale(size_t g) const {
    return {load8(scales + g * kScanGroup), load8(scales + g * kScanGroup + 8)};
  }
  const char* group(size_t g) const { return reinterpret_cast<const char*>(packed + g * d * kScanGroup); }
  size_t group_bytes() const { return d * kScanGroup; }
};

// R queries x G groups at a time: 2 R G independent accumulator chains, so the FMAs' latency is
// hidden (one chain of d FMAs per group would leave the core waiting on each).
template <size_t R, size_t G, class Decode>
[[gnu::always_inline]] inline void scan_block(size_t g0, size_t d, const float* q, float* scores, size_t ld,
                                              const Decode& decode) {
  Pair acc[R][G];
  for (size_t r = 0; r < R; ++r)
    for (size_t k = 0; k < G; ++k) acc[r][k] = {splat(0.0f), splat(0.0f)};
  for (size_t c = 0; c < d; ++c)
    for (size_t k = 0; k < G; ++k) {
      const Pair x = decode(g0 + k, c);
      for (size_t r = 0; r < R; ++r) {
        const float w = q[r * d + c];
        acc[r][k].lo += x.lo * w;
        acc[r][k].hi += x.hi * w;
      }
    }
  for (size_t k = 0; k < G; ++k) {
    const Pair scale = decode.scale(g0 + k);
    for (size_t r = 0; r < R; ++r) {
      float* out = scores + r * ld + (g0 + k) * kScanGroup;
      store8(out, acc[r][k].lo * scale.lo);
      store8(out + 8, acc[r][k].hi * scale.hi);
    }
  }
}

template <size_t R, size_t G, class Decode>
[[gnu::always_inline]] inline void scan_rows(size_t groups, size_t d, const float* q, float* scores, size_t ld,
                                             const Decode& decode) {
  // One core alone cannot keep enough cache misses in flight to stream at the memory's rate:
  // prefetch a few groups ahead (the same lines the hardware prefetcher would fetch, earlier).
  constexpr size_t kAheadBytes = 16384;  // measured best of 2, 8, 16 and 32 KiB (bench_query)
  const size_t bytes = decode.group_bytes();
  const size_t ahead = kAheadBytes / bytes + 1;
  size_t g = 0;
  for (; g + G <= groups; g += G) {
    if (g + ahead + G <= groups)
      for (size_t off = 0; off < G * bytes; off += 64) __builtin_prefetch(decode.group(g + ahead) + off);
    scan_block<R, G>(g, d, q, scores, ld, decode);
  }
  for (; g < groups; ++g) scan_block<R, 1>(g, d, q, scores, ld, decode);
}

// Up to 4 queries share each decoded vector; more queries go in further passes.
template <class Decode>
[[gnu::always_inline]] inline void scan_groups(size_t groups, size_t d, const float* q, size_t nq, float* scores,
                                               size_t ld, const Decode& decode) {
  for (size_t r0 = 0; r0 < nq; r0 += 4) {
    const float* qr = q + r0 * d;
    float* out = scores + r0 * ld;
    switch (nq - r0 < 4 ? nq - r0 : 4) {
      case 1:
        scan_rows<1, 2>(groups, d, qr, out, ld, decode);
        break;
      case 2:
        scan_rows<2, 1>(groups, d, qr, out, ld, decode);
        break;
      case 3:
        scan_rows<3, 1>(groups, d, qr, out, ld, decode);
        break;
      default:
        scan_rows<4, 1>(groups, d, qr, out, ld, decode);
        break;
    }
  }
}

}  // namespace

// The AVX2 build of scan_int8 (compact_scan_avx2.cpp); call only if the CPU has AVX2 and FMA.
void scan_int8_avx2(const int8_t* packed, const float* scales, size_t groups, size_t d, const float* q, size_t nq,
                    float* scores, size_t ld);

}  // namespace tt
