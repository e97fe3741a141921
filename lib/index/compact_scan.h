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

}  // namespace tt
