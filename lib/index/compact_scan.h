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

// The approximate index's integer scan. Candidates are int8 values x stored as unsigned bytes
// x + 128, in groups of 16 whose elements come in quads: byte (g, c) of candidate k is at
// data[g][c / 4][k][c % 4] (64 bytes per quad of a group), the last quad padded with x = 0;
// the query is int8 quads (padding 0). With AVX-512 VNNI one vpdpbusd multiplies and adds a
// quad of 16 candidates at once (the float decode of scan_int8 costs four instructions per
// element instead), which makes the scan read-bound rather than decode-bound.
//   scores[j] = float(sum_c q_c (x_jc + 128) - 128 sum_c q_c) * (scales[j] * q_scale)
// The sums are exact integers (at most 65,536 dimensions), so every level gives the same bits.
constexpr size_t kQuad = 4;
constexpr size_t kMaxQuadDim = 65536;
inline size_t quads_of(size_t d) { return (d + kQuad - 1) / kQuad; }
// Packs rows x d int8 values (out: ceil(rows / 16) * 16 * quads_of(d) * 4 bytes).
void pack_groups_u8q(const int8_t* rows, size_t n, size_t d, uint8_t* out);
// scores[j] for the candidates of `groups` groups (j < groups * 16) and one int8 query of
// quads_of(d) * 4 values.
void scan_u8q(const uint8_t* packed, const float* scales, size_t groups, size_t quads, const int8_t* q,
              float q_scale, float* scores);

}  // namespace tt
