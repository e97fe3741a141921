// The index's scan kernels, compiled once per ISA level: scan_kernels_{baseline,avx2,avx512}.cpp
// define TT_ISA_NS and include this file, and CMakeLists.txt gives each its -march. Everything
// here has internal linkage or lives in namespace tt::TT_ISA_NS, and only builtins and
// intrinsics are used from other headers (an inline function shared with other translation
// units could be emitted here with this level's instructions and picked by the linker for a
// caller running at a lower level).
//
// Compiled with -fno-trapping-math and -Wno-psabi. Every candidate's score is the same chain of
// operations at every level: one multiply-add per element in element order, then the scale.
// The AVX2 and AVX-512 builds both fuse the multiply-add (FMA), so they give the same bits; the
// baseline build has no FMA and may differ from them in the last bits.
#ifndef TT_ISA_NS
#error "define TT_ISA_NS (the namespace of this ISA level's build) before including scan_kernels_isa.h"
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "base/intrinsics_isa.h"
#include "base/vec_isa.h"
#include "index/compact_scan.h"
#include "index/scan_kernels_table.h"

namespace tt::TT_ISA_NS {

namespace {

typedef float v4f __attribute__((vector_size(16)));
typedef uint32_t v8u __attribute__((vector_size(32)));
typedef int8_t v8b __attribute__((vector_size(8)));

[[gnu::always_inline]] inline v8f as_float(v8u bits) {
  v8f f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// ---- Compact scans -------------------------------------------------------------------------
// Lanes: one element of a group's 16 candidates, as float32 in candidate order. AVX-512 holds
// them in one register; the other levels in two 8-float vectors (lo: candidates 0-7, hi: 8-15).
#if defined(__AVX512F__)
typedef float Lanes __attribute__((vector_size(64)));
[[gnu::always_inline]] inline Lanes lanes_splat(float x) { return Lanes{} + x; }
[[gnu::always_inline]] inline Lanes lanes_load(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void lanes_store(float* p, Lanes v) { std::memcpy(p, &v, sizeof v); }
// Candidates 0-7 then 8-15: the two halves of the bf16 decode below, side by side.
[[gnu::always_inline]] inline Lanes lanes_join(v8f lo, v8f hi) {
  return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
#else
struct Lanes {
  v8f lo, hi;
};
[[gnu::always_inline]] inline Lanes operator*(Lanes a, float w) { return {a.lo * w, a.hi * w}; }
[[gnu::always_inline]] inline Lanes operator*(Lanes a, Lanes b) { return {a.lo * b.lo, a.hi * b.hi}; }
[[gnu::always_inline]] inline Lanes& operator+=(Lanes& a, Lanes b) {
  a.lo += b.lo;
  a.hi += b.hi;
  return a;
}
[[gnu::always_inline]] inline Lanes lanes_splat(float x) { return {splat(x), splat(x)}; }
[[gnu::always_inline]] inline Lanes lanes_load(const float* p) { return {load8(p), load8(p + 8)}; }
[[gnu::always_inline]] inline void lanes_store(float* p, Lanes v) {
  store8(p, v.lo);
  store8(p + 8, v.hi);
}
[[gnu::always_inline]] inline Lanes lanes_join(v8f lo, v8f hi) { return {lo, hi}; }
#endif

// bf16 groups store word k of an element as candidate k (low half) and candidate k + 8 (high
// half), so both halves come out of one load with a shift and a mask: a bf16 value is the top
// half of a float32.
struct Bf16Groups {
  const uint16_t* packed;
  size_t d;
  [[gnu::always_inline]] Lanes operator()(size_t g, size_t c) const {
    v8u w;
    std::memcpy(&w, packed + (g * d + c) * kScanGroup, sizeof w);
    return lanes_join(as_float(w << 16), as_float(w & 0xffff0000u));
  }
  [[gnu::always_inline]] Lanes scale(size_t) const { return lanes_splat(1.0f); }
  const char* group(size_t g) const { return reinterpret_cast<const char*>(packed + g * d * kScanGroup); }
  size_t group_bytes() const { return d * kScanGroup * sizeof(uint16_t); }
};

// int8 groups store an element's 16 candidates in order; scores are scaled per candidate.
// GCC's vector extensions turn the int8 -> int32 widening into scalar inserts, so the AVX2 and
// AVX-512 builds use the one instruction their ISA has for it.
struct Int8Groups {
  const int8_t* packed;
  const float* scales;
  size_t d;
#if defined(__AVX512F__)
  [[gnu::always_inline]] Lanes operator()(size_t g, size_t c) const {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(packed + (g * d + c) * kScanGroup));
    return reinterpret_cast<Lanes>(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b)));
  }
#else
  [[gnu::always_inline]] static v8f widen(const int8_t* p) {
#if defined(__AVX2__)
    const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    return reinterpret_cast<v8f>(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b)));
#else
    v8b b;
    std::memcpy(&b, p, sizeof b);
    return __builtin_convertvector(__builtin_convertvector(b, v8i), v8f);
#endif
  }
  [[gnu::always_inline]] Lanes operator()(size_t g, size_t c) const {
    const int8_t* p = packed + (g * d + c) * kScanGroup;
    return {widen(p), widen(p + 8)};
  }
#endif
  [[gnu::always_inline]] Lanes scale(size_t g) const { return lanes_load(scales + g * kScanGroup); }
  const char* group(size_t g) const { return reinterpret_cast<const char*>(packed + g * d * kScanGroup); }
  size_t group_bytes() const { return d * kScanGroup; }
};

// R queries x G groups at a time: independent accumulator chains hide the FMAs' latency (one
// chain of d FMAs per group would leave the core waiting on each).
template <size_t R, size_t G, class Decode>
[[gnu::always_inline]] inline void scan_block(size_t g0, size_t d, const float* q, float* scores, size_t ld,
                                              const Decode& decode) {
  Lanes acc[R][G];
  for (size_t r = 0; r < R; ++r)
    for (size_t k = 0; k < G; ++k) acc[r][k] = lanes_splat(0.0f);
  for (size_t c = 0; c < d; ++c)
    for (size_t k = 0; k < G; ++k) {
      const Lanes x = decode(g0 + k, c);
      for (size_t r = 0; r < R; ++r) acc[r][k] += x * q[r * d + c];
    }
  for (size_t k = 0; k < G; ++k) {
    const Lanes scale = decode.scale(g0 + k);
    for (size_t r = 0; r < R; ++r) lanes_store(scores + r * ld + (g0 + k) * kScanGroup, acc[r][k] * scale);
  }
}

template <size_t R, size_t G, class Decode>
[[gnu::always_inline]] inline void scan_rows(size_t groups, size_t d, const float* q, float* scores, size_t ld,
                                             const Decode& decode) {
  // One core alone cannot keep enough cache misses in flight to stream at the memory's rate:
  // prefetch a few groups ahead (the same lines the hardware prefetcher would fetch, earlier).
  constexpr size_t kAheadBytes = 16384;  // measured best of 2, 8, 16 and 32 KiB (bench_query, AVX2)
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

// Groups per block for R queries: as many accumulator chains as the AVX2 build keeps (2 R G
// there, one per 8-float half), so the AVX-512 build, with one register per group, takes twice
// the groups. The grouping never changes a score's bits (each candidate is its own chain).
#if defined(__AVX512F__)
constexpr size_t kGroupsPerBlock[5] = {0, 4, 2, 2, 2};
#else
constexpr size_t kGroupsPerBlock[5] = {0, 2, 1, 1, 1};
#endif

// Up to 4 queries share each decoded vector; more queries go in further passes.
template <class Decode>
[[gnu::always_inline]] inline void scan_groups(size_t groups, size_t d, const float* q, size_t nq, float* scores,
                                               size_t ld, const Decode& decode) {
  for (size_t r0 = 0; r0 < nq; r0 += 4) {
    const float* qr = q + r0 * d;
    float* out = scores + r0 * ld;
    switch (nq - r0 < 4 ? nq - r0 : 4) {
      case 1:
        scan_rows<1, kGroupsPerBlock[1]>(groups, d, qr, out, ld, decode);
        break;
      case 2:
        scan_rows<2, kGroupsPerBlock[2]>(groups, d, qr, out, ld, decode);
        break;
      case 3:
        scan_rows<3, kGroupsPerBlock[3]>(groups, d, qr, out, ld, decode);
        break;
      default:
        scan_rows<4, kGroupsPerBlock[4]>(groups, d, qr, out, ld, decode);
        break;
    }
  }
}

void scan_bf16(const uint16_t* packed, size_t groups, size_t d, const float* q, size_t nq, float* scores, size_t ld) {
  scan_groups(groups, d, q, nq, scores, ld, Bf16Groups{packed, d});
}

void scan_int8(const int8_t* packed, const float* scales, size_t groups, size_t d, const float* q, size_t nq,
               float* scores, size_t ld) {
  scan_groups(groups, d, q, nq, scores, ld, Int8Groups{packed, scales, d});
}

// ---- Float32 scan -------------------------------------------------------------------------
// Rows of float32 candidates, 8 elements at a time (the same code at every level, so the AVX2
// and AVX-512 builds give the same bits).

// a * b + c, fused where the level has FMA. Written out for the scalar and 4-float tails: left
// to contraction, GCC vectorised and fused them differently at AVX2 and at AVX-512.
[[gnu::always_inline]] inline float madd(float a, float b, float c) {
#if defined(__FMA__)
  return __builtin_fmaf(a, b, c);
#else
  return a * b + c;
#endif
}
[[gnu::always_inline]] inline v4f madd4(v4f a, float b, v4f c) {
#if defined(__FMA__)
  return reinterpret_cast<v4f>(_mm_fmadd_ps(reinterpret_cast<__m128>(a), _mm_set1_ps(b), reinterpret_cast<__m128>(c)));
#else
  return a * b + c;
#endif
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
[[gnu::always_inline]] inline void float_rows(const float* c, size_t n, size_t d, const float* q, float* scores,
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
      for (size_t e = d8; e < d; ++e) s = madd4(v4f{r[e], r[d + e], r[2 * d + e], r[3 * d + e]}, q[k * d + e], s);
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
      for (size_t e = d8; e < d; ++e) t = madd(r[e], q[k * d + e], t);
      scores[k * ld + j] = t;
    }
  }
}

void scan_float_rows(const float* c, size_t n, size_t d, const float* q, size_t nq, float* scores, size_t ld) {
  switch (nq) {
    case 1:
      return float_rows<1>(c, n, d, q, scores, ld);
    case 2:
      return float_rows<2>(c, n, d, q, scores, ld);
    case 3:
      return float_rows<3>(c, n, d, q, scores, ld);
    default:
      for (size_t r0 = 0; r0 < nq; r0 += 4) {
        const size_t m = nq - r0 < 4 ? nq - r0 : 4;
        if (m == 4)
          float_rows<4>(c, n, d, q + r0 * d, scores + r0 * ld, ld);
        else
          scan_float_rows(c, n, d, q + r0 * d, m, scores + r0 * ld, ld);
      }
  }
}

// ---- 4-bit scan (compact_scan.h, scan_u4) --------------------------------------------------
// Exact integer sums, then one conversion and two products written the same way everywhere.
#if !defined(__AVX2__)
void scan_u4_portable(const uint8_t* packed, const float* scales, size_t groups, size_t octets, const int8_t* q,
                      int32_t corr, float q_scale, float* scores) {
  for (size_t g = 0; g < groups; ++g) {
    int32_t acc[kScanGroup] = {};
    const uint8_t* p = packed + g * octets * kScanGroup * 4;
    for (size_t o = 0; o < octets; ++o, p += kScanGroup * 4)
      for (size_t k = 0; k < kScanGroup; ++k)
        for (size_t b = 0; b < 4; ++b)
          acc[k] += static_cast<int32_t>(p[k * 4 + b] & 0xF) * q[o * 8 + b] +
                    static_cast<int32_t>(p[k * 4 + b] >> 4) * q[o * 8 + 4 + b];
    for (size_t k = 0; k < kScanGroup; ++k)
      scores[g * kScanGroup + k] = static_cast<float>(acc[k] - corr) * (scales[g * kScanGroup + k] * q_scale);
  }
}

#endif

#if defined(__AVX512F__)
template <size_t G>
[[gnu::always_inline]] inline void u4_block(const uint8_t* packed, const float* scales, size_t g0, size_t octets,
                                            const int8_t* q, __m512i corr, __m512 qs, float* scores)
    __attribute__((target("avx512vnni")));
template <size_t G>
inline void u4_block(const uint8_t* packed, const float* scales, size_t g0, size_t octets, const int8_t* q,
                     __m512i corr, __m512 qs, float* scores) {
  const __m512i nib = _mm512_set1_epi8(0x0F);
  __m512i acc[G];
  for (size_t k = 0; k < G; ++k) acc[k] = _mm512_setzero_si512();
  for (size_t o = 0; o < octets; ++o) {
    int32_t lo_w, hi_w;
    std::memcpy(&lo_w, q + o * 8, 4);
    std::memcpy(&hi_w, q + o * 8 + 4, 4);
    const __m512i qlo = _mm512_set1_epi32(lo_w), qhi = _mm512_set1_epi32(hi_w);
    for (size_t k = 0; k < G; ++k) {
      const __m512i v = _mm512_loadu_si512(packed + ((g0 + k) * octets + o) * kScanGroup * 4);
      acc[k] = _mm512_dpbusd_epi32(acc[k], _mm512_and_si512(v, nib), qlo);
      acc[k] = _mm512_dpbusd_epi32(acc[k], _mm512_and_si512(_mm512_srli_epi16(v, 4), nib), qhi);
    }
  }
  for (size_t k = 0; k < G; ++k) {
    const size_t j = (g0 + k) * kScanGroup;
    const __m512 s = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[k], corr));
    _mm512_storeu_ps(scores + j, _mm512_mul_ps(s, _mm512_mul_ps(_mm512_loadu_ps(scales + j), qs)));
  }
}

__attribute__((target("avx512vnni"))) void scan_u4_vnni(const uint8_t* packed, const float* scales, size_t groups,
                                                        size_t octets, const int8_t* q, int32_t corr, float q_scale,
                                                        float* scores) {
  const __m512i c = _mm512_set1_epi32(corr);
  const __m512 qs = _mm512_set1_ps(q_scale);
  // Software prefetch a fixed distance ahead, as scan_rows does (one core alone does not keep
  // enough misses in flight).
  constexpr size_t kAheadBytes = 16384;
  const size_t bytes = octets * kScanGroup * 4, ahead = kAheadBytes / bytes + 1;
  size_t g = 0;
  for (; g + 8 <= groups; g += 8) {
    if (g + ahead + 8 <= groups)
      for (size_t off = 0; off < 8 * bytes; off += 64) __builtin_prefetch(packed + (g + ahead) * bytes + off);
    u4_block<8>(packed, scales, g, octets, q, c, qs, scores);
  }
  for (; g < groups; ++g) u4_block<1>(packed, scales, g, octets, q, c, qs, scores);
}
#endif

#if defined(__AVX2__)
// Without VNNI: vpmaddubsw multiplies the nibbles (0..15) by the int8 query and adds pairs into
// int16 (at most 2 * 15 * 127, so it never saturates), the two nibbles' products are added
// (at most 7,620), and vpmaddwd by ones widens each candidate's word to int32 every octet.
void scan_u4_avx2(const uint8_t* packed, const float* scales, size_t groups, size_t octets, const int8_t* q,
                  int32_t corr, float q_scale, float* scores) {
  const __m256i nib = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1), c = _mm256_set1_epi32(corr);
  const __m256 qs = _mm256_set1_ps(q_scale);
  const size_t bytes = octets * kScanGroup * 4, ahead = 16384 / bytes + 1;
  for (size_t g = 0; g < groups; ++g) {
    if (g + ahead < groups)
      for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(packed + (g + ahead) * bytes + off);
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    for (size_t o = 0; o < octets; ++o) {
      int32_t lo_w, hi_w;
      std::memcpy(&lo_w, q + o * 8, 4);
      std::memcpy(&hi_w, q + o * 8 + 4, 4);
      const __m256i qlo = _mm256_set1_epi32(lo_w), qhi = _mm256_set1_epi32(hi_w);
      const uint8_t* p = packed + (g * octets + o) * kScanGroup * 4;
      const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
      const __m256i t0 = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(v0, nib), qlo),
                                          _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v0, 4), nib), qhi));
      const __m256i t1 = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(v1, nib), qlo),
                                          _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v1, 4), nib), qhi));
      acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(t0, ones));
      acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(t1, ones));
    }
    const size_t j = g * kScanGroup;
    const __m256 s0 = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc0, c));
    const __m256 s1 = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc1, c));
    _mm256_storeu_ps(scores + j, _mm256_mul_ps(s0, _mm256_mul_ps(_mm256_loadu_ps(scales + j), qs)));
    _mm256_storeu_ps(scores + j + 8, _mm256_mul_ps(s1, _mm256_mul_ps(_mm256_loadu_ps(scales + j + 8), qs)));
  }
}
#endif

void scan_u4(const uint8_t* packed, const float* scales, size_t groups, size_t octets, const int8_t* q, int32_t corr,
             float q_scale, float* scores) {
#if defined(__AVX512F__)
  static const bool vnni = __builtin_cpu_supports("avx512vnni");
  if (vnni) return scan_u4_vnni(packed, scales, groups, octets, q, corr, q_scale, scores);
#endif
#if defined(__AVX2__)
  scan_u4_avx2(packed, scales, groups, octets, q, corr, q_scale, scores);
#else
  scan_u4_portable(packed, scales, groups, octets, q, corr, q_scale, scores);
#endif
}

}  // namespace

const ScanKernelTable scan_kernel_table = {
    .scan_bf16 = scan_bf16,
    .scan_int8 = scan_int8,
    .scan_float_rows = scan_float_rows,
    .scan_u4 = scan_u4,
};

}  // namespace tt::TT_ISA_NS
