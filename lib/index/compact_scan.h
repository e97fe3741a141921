// Kernels of the index's compact scans. Candidates are packed in groups of 16: for each group,
// element c of its 16 candidates is stored contiguously (data[g][c][lane]), so vector loads
// feed 16 candidates at once and scores need no horizontal sums. bf16 lanes are interleaved
// (word k = candidate k and candidate k + 8) so that one load widens with a shift and a mask.
// The last group is padded with zeros.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tt {

constexpr size_t kScanGroup = 16;

// Packs rows x d row-major values into groups (out: ceil(rows / 16) * 16 * d elements).
void pack_groups_u16(const uint16_t* rows, size_t n, size_t d, uint16_t* out);
void pack_groups_i8(const int8_t* rows, size_t n, size_t d, int8_t* out);

// scores[r * ld + j] = q_r · candidate j for nq queries (nq x d, row-major) and the candidates
// of `groups` packed groups (j < groups * 16). int8 candidates are multiplied by their scale.
void scan_bf16(const uint16_t* packed, size_t groups, size_t d, const float* q, size_t nq, float* scores, size_t ld);
void scan_int8(const int8_t* packed, const float* scales, size_t groups, size_t d, const float* q, size_t nq,
               float* scores, size_t ld);

// The approximate index's leaf scan, 4-bit: candidates are values x in [-7, 7] (a scale per
// candidate) stored as x + 8, in groups of 16; for each octet of elements, candidate k of a
// group has one 4-byte word, whose low nibbles hold elements 0-3 of the octet and high
// nibbles elements 4-7 (32 bytes per candidate at d = 64: half of int8's, an eighth of
// float32's), the last octet padded with x = 0. The query is int8 (one scale), padded to
// whole octets with 0. With AVX-512 VNNI a mask, a shift and two vpdpbusd multiply and add an
// octet of 16 candidates (the float decode of scan_int8 costs four instructions per element,
// which kept that scan from reaching the memory's rate).
//   scores[j] = float(sum_c q_c (x_jc + 8) - 8 sum_c q_c) * (scales[j] * q_scale)
// The sums are exact integers, so every ISA level gives the same bits.
constexpr size_t kOctet = 8;
// The integer sums stay within int32 up to this dimension (|sum| <= d * 15 * 127).
constexpr size_t kMaxScanDim = 1000000;
inline size_t octets_of(size_t d) { return (d + kOctet - 1) / kOctet; }
// Packs rows x d values in [-7, 7] (out: ceil(rows / 16) * 16 * octets_of(d) * 4 bytes).
void pack_groups_u4(const int8_t* rows, size_t n, size_t d, uint8_t* out);
// scores[j] for the candidates of `groups` groups (j < groups * 16) and one int8 query of
// octets * 8 values.
void scan_u4(const uint8_t* packed, const float* scales, size_t groups, size_t octets, const int8_t* q, float q_scale,
             float* scores);

}  // namespace tt
